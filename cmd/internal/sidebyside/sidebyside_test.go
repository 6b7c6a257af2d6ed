package sidebyside

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestOrder(t *testing.T) {
	for i, want := range [][]string{{"a", "b"}, {"b", "a"}, {"a", "b"}} {
		if got := Order(i, "a", "b"); !reflect.DeepEqual(got, want) {
			t.Errorf("run %d: %v, want %v", i, got, want)
		}
	}
}

func TestSpreadOf(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want Spread
	}{
		{[]float64{3}, Spread{3, 3, 3}},
		{[]float64{5, 1, 3}, Spread{3, 1, 5}},
		// numpy's linear median, as in every summary: the mean of the
		// middle two of an even count (gonum's empirical quantile, used
		// before, gave the lower middle, 2).
		{[]float64{4, 1, 3, 2}, Spread{2.5, 1, 4}},
	} {
		xs := append([]float64(nil), tc.xs...)
		if got := SpreadOf(xs); got != tc.want {
			t.Errorf("SpreadOf(%v) = %+v, want %+v", tc.xs, got, tc.want)
		}
		if !reflect.DeepEqual(xs, tc.xs) {
			t.Errorf("SpreadOf reordered its argument: %v", xs)
		}
	}
}

func TestCompare(t *testing.T) {
	// The figures are metrics.Compare's, worked out by hand in its tests:
	// 1..5 over 2..10 is 0.5 [0.190, 1.316] p=0.108; 4..6 over 1..3 is 2.5
	// [1.230, 12.752] p=0.021. The noisy baseline (mean 2, t^2 sb > mb^2)
	// has no bounded interval; its Welch p (t = 7.0896 at 2.0105 df) is
	// 0.019 by numerical integration of Student's density.
	one, two, three := []float64{1, 2, 3, 4, 5}, []float64{2, 4, 6, 8, 10}, []float64{4, 5, 6}
	low := []float64{1, 2, 3}
	for _, tc := range []struct {
		name string
		a, b []float64
		goal float64
		want string
	}{
		{"not significant", one, two, 0.97, "0.500x ~ [0.190, 1.316] p=0.108, n=5+5; goal >= 0.970: not shown, the interval includes it"},
		{"met", three, low, 1, "2.500x [1.230, 12.752] p=0.021, n=3+3; goal >= 1.000: met, the whole interval is at or above it"},
		{"missed", three, low, 20, "2.500x [1.230, 12.752] p=0.021, n=3+3; goal >= 20.000: missed, the whole interval is below it"},
		{"inside", three, low, 2, "2.500x [1.230, 12.752] p=0.021, n=3+3; goal >= 2.000: not shown, the interval includes it"},
		{"unbounded", []float64{10, 10.1, 9.9}, []float64{0.1, 4, 1.9}, 1, "5.000x [unbounded] p=0.019, n=3+3; goal >= 1.000: not shown, the interval is unbounded"},
		{"one run each", []float64{3}, []float64{2}, 1, "1.500x (no interval), n=1+1; goal >= 1.000: not shown, no interval from 1 and 1 runs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Compare(tc.a, tc.b, tc.goal).Format(3); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	c := Common{Out: filepath.Join(t.TempDir(), "benchmarks", "offline")}
	if err := c.Write([]byte("{}\n"), []byte("# md\n")); err != nil {
		t.Fatal(err)
	}
	for ext, want := range map[string]string{".json": "{}\n", ".md": "# md\n"} {
		if got, err := os.ReadFile(c.Out + ext); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", ext, got, err, want)
		}
	}
}
