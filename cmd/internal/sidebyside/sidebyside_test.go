package sidebyside

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestOrder(t *testing.T) {
	for i, want := range [][]string{{"a", "b"}, {"b", "a"}, {"a", "b"}} {
		if got := Order(i, "a", "b"); !reflect.DeepEqual(got, want) {
			t.Errorf("pair %d: %v, want %v", i, got, want)
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

// scaled is b[i] * exp(logs[i]): pairs whose log ratios are logs.
func scaled(b, logs []float64) []float64 {
	a := make([]float64, len(b))
	for i := range b {
		a[i] = b[i] * math.Exp(logs[i])
	}
	return a
}

func TestCompare(t *testing.T) {
	// With three pairs Student's t has 2 degrees of freedom, whose
	// two-sided tail is 1 - t/sqrt(2+t^2) in closed form, so the figures
	// are worked out by hand: log ratios 0.1, 0.2, 0.15 have mean 0.15
	// and sd 0.05, t = 5.196, p = 0.0351, the 95% quantile 4.303 and
	// the interval exp(0.15 ± 0.1242) = [1.026, 1.315]. Over 3 looks the
	// level is 98.33%, the quantile 7.649: [0.932, 1.449], p = 3 x 0.0351.
	// Log ratios 0.1, -0.1, 0.03: mean 0.01, sd 0.1015, t = 0.171,
	// p = 0.880, [0.785, 1.300].
	b := []float64{100, 200, 300}
	up, flat := scaled(b, []float64{0.1, 0.2, 0.15}), scaled(b, []float64{0.1, -0.1, 0.03})
	for _, tc := range []struct {
		name  string
		a, b  []float64
		looks int
		goal  float64
		want  string
	}{
		{"met", up, b, 1, 1, "1.162x [1.026, 1.315] p=0.035, 3 pairs, 95% interval; goal >= 1.000: met, the whole interval is at or above it"},
		{"inside", up, b, 1, 1.2, "1.162x [1.026, 1.315] p=0.035, 3 pairs, 95% interval; goal >= 1.200: not shown, the interval includes it"},
		{"missed", up, b, 1, 1.4, "1.162x [1.026, 1.315] p=0.035, 3 pairs, 95% interval; goal >= 1.400: missed, the whole interval is below it"},
		{"corrected for looks", up, b, 3, 1, "1.162x ~ [0.932, 1.449] p=0.105, 3 pairs, 98.33% interval; goal >= 1.000: not shown, the interval includes it"},
		{"not significant", flat, b, 1, 0.97, "1.010x ~ [0.785, 1.300] p=0.880, 3 pairs, 95% interval; goal >= 0.970: not shown, the interval includes it"},
		{"one pair", []float64{3}, []float64{2}, 1, 1, "1.500x (no interval), 1 pair; goal >= 1.000: not shown, no interval from one pair"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(tc.a, tc.b, tc.looks, tc.goal)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Format(3); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if len(c.PairRatios) != len(tc.a) {
				t.Errorf("pair ratios %v", c.PairRatios)
			}
		})
	}
	for _, tc := range []struct {
		name string
		a, b []float64
	}{
		{"no pairs", nil, nil},
		{"unequal runs", []float64{1, 2}, []float64{1}},
		{"a zero", []float64{1, 0}, []float64{1, 1}},
		{"one zero pair", []float64{0}, []float64{1}},
	} {
		if _, err := Compare(tc.a, tc.b, 1, 1); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestWidest(t *testing.T) {
	b := []float64{100, 200, 300}
	up, _ := Compare(scaled(b, []float64{0.1, 0.2, 0.15}), b, 1, 1)
	flat, _ := Compare(scaled(b, []float64{0.1, -0.1, 0.03}), b, 1, 1)
	one, _ := Compare([]float64{3}, []float64{2}, 1, 1)
	for _, tc := range []struct {
		name string
		cs   []Comparison
		want float64
	}{
		{"the wider", []Comparison{up, flat}, flat.HalfWidth()},
		{"one without an interval", []Comparison{up, one}, math.NaN()},
		{"none", nil, math.NaN()},
	} {
		got := Widest(tc.cs...)
		if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("%s: %g, want %g", tc.name, got, tc.want)
		}
	}
	// (1.3155 - 1.0261) / 2 / 1.1618, by hand from TestCompare's interval.
	if hw := up.HalfWidth(); math.Abs(hw-0.12453) > 1e-4 {
		t.Errorf("half width %g, want 0.1245", hw)
	}
}

func TestRunsFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{{"auto", 0, true}, {"3", 3, true}, {"1", 1, true}, {"0", 0, false}, {"-2", 0, false}, {"three", 0, false}} {
		r := Runs{N: 7}
		err := r.Set(tc.in)
		if (err == nil) != tc.ok || (tc.ok && r.N != tc.want) {
			t.Errorf("Set(%q) = %d, %v", tc.in, r.N, err)
		}
		if tc.ok && r.String() != tc.in {
			t.Errorf("Set(%q) prints as %q", tc.in, r.String())
		}
	}
}

func TestRulePairs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		common  Common
		widths  func(n int) float64
		passes  int
		looks   int
		reached bool
		reason  string
	}{
		{"fixed", Common{Runs: Runs{N: 2}}, func(int) float64 { return 0.5 }, 2, 1, false, "--runs 2"},
		{"fixed, one pair", Common{Runs: Runs{N: 1}}, func(int) float64 { return math.NaN() }, 1, 1, false, "--runs 1"},
		// Looks at 3, 5, 8: narrow enough at the second.
		{"target met", Common{TargetCI: 0.05, MaxRuns: 8}, func(n int) float64 { return 0.2 / float64(n) }, 5, 3, true, "within ±5.0% after 5 pairs"},
		// Narrow at 4, which is not a look, and wide at every look.
		{"at the maximum", Common{TargetCI: 0.05, MaxRuns: 8}, func(n int) float64 { return 0.06 + float64(n%2) }, 8, 3, false, "reached --max-runs 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.common.Rule()
			if err != nil {
				t.Fatal(err)
			}
			if r.Looks() != tc.looks {
				t.Errorf("looks %d, want %d", r.Looks(), tc.looks)
			}
			var ran []int
			st, err := r.Pairs(func(i int) (float64, error) {
				ran = append(ran, i)
				return tc.widths(i + 1), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if st.Passes != tc.passes || len(ran) != tc.passes || ran[len(ran)-1] != tc.passes-1 {
				t.Errorf("ran pairs %v, stop after %d; want %d", ran, st.Passes, tc.passes)
			}
			if st.Reached != tc.reached || !strings.Contains(st.Reason, tc.reason) || st.Method == "" {
				t.Errorf("stop %+v, want reached %v and a reason with %q", st, tc.reached, tc.reason)
			}
			if d := Describe(st); !strings.HasPrefix(d, fmt.Sprintf("%d pairs", tc.passes)) {
				t.Errorf("Describe: %s", d)
			}
		})
	}
	if _, err := (Common{TargetCI: 0.05, MaxRuns: 2}).Rule(); err == nil {
		t.Error("--max-runs 2 with auto: no error")
	}
	if _, err := (Common{TargetCI: 0, MaxRuns: 8}).Rule(); err == nil {
		t.Error("--target-ci 0 with auto: no error")
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

func TestRunFresh(t *testing.T) {
	// A stand-in for rollbench: it writes a result into the directory its
	// first argument names and prints, and exits with its second.
	bin := filepath.Join(t.TempDir(), "rollbench")
	script := "#!/bin/sh\nmkdir -p \"$1\" && echo '{}' > \"$1/r.json\"\necho printed \"$2\"\nexit \"$2\"\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, status, err string
	}{
		{"ok", "0", ""},
		{"failed", "3", "exit status 3 (output in "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			// What an earlier run left must be gone.
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			stale := filepath.Join(dir, "stale.json")
			if err := os.WriteFile(stale, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			results, wall, err := RunFresh(context.Background(), bin, dir, func(results, logs string) []string {
				if _, err := os.Stat(logs); err != nil {
					t.Errorf("logs directory not made before the run: %v", err)
				}
				return []string{results, tc.status}
			})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("error %v, want one with %q", err, tc.err)
				}
			} else if err != nil || results != filepath.Join(dir, "results") || !(wall > 0) {
				t.Errorf("RunFresh = %q, %g, %v", results, wall, err)
			} else if _, err := os.Stat(filepath.Join(results, "r.json")); err != nil {
				t.Error(err)
			}
			if log, err := os.ReadFile(filepath.Join(dir, "rollbench.log")); err != nil || string(log) != "printed "+tc.status+"\n" {
				t.Errorf("rollbench.log: %q, %v", log, err)
			}
			if _, err := os.Stat(stale); !os.IsNotExist(err) {
				t.Errorf("an earlier run's file is left: %v", err)
			}
		})
	}
}

func TestAtMost(t *testing.T) {
	for _, tc := range []struct {
		low, high float64
		want      string
	}{
		{0.9, 1.02, "met: the whole interval is at or below 1.02"},
		{1.03, 1.2, "missed: the whole interval is above 1.02"},
		{1.02, 1.2, "not shown either way: the interval contains 1.02"},
		{0.9, 1.05, "not shown either way: the interval contains 1.02"},
	} {
		if got := AtMost(tc.low, tc.high, 1.02, "the"); got != tc.want {
			t.Errorf("AtMost(%g, %g) = %q, want %q", tc.low, tc.high, got, tc.want)
		}
	}
}
