package metrics

import (
	"math"
	"strings"
	"testing"
)

// The expected values were worked out by hand; the Student's t quantiles
// and tail probabilities come from the regularized incomplete beta function
// (mpmath at 15 digits): t(0.975, 4) = 2.7764451052, t(0.975, 2) =
// 4.3026527297, t(0.975, 5.8823529) = 2.4588237097.

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.10g, want %.10g (±%g)", what, got, want, tol)
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name                     string
		xs                       []float64
		mean, std, cv, low, high float64
	}{
		// mean 3, var 10/4, std 1.5811388; half = 2.7764451 * 1.5811388 / sqrt(5) = 1.9632432.
		{"five", []float64{1, 2, 3, 4, 5}, 3, 1.5811388301, 0.5270462767, 1.0367568, 4.9632432},
		// mean 10, std 1; half = 4.3026527 / sqrt(3) = 2.4841377.
		{"three", []float64{9, 10, 11}, 10, 1, 0.1, 7.5158623, 12.4841377},
		{"one", []float64{7}, 7, 0, 0, 7, 7},
		{"constant", []float64{2, 2, 2}, 2, 0, 0, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEstimate(tc.xs)
			if e.N != len(tc.xs) {
				t.Errorf("N = %d, want %d", e.N, len(tc.xs))
			}
			near(t, "mean", e.Mean, tc.mean, 1e-9)
			near(t, "std", e.Std, tc.std, 1e-9)
			if e.StdDDOF != Sample {
				t.Errorf("std_ddof = %d, want 1 (sample)", e.StdDDOF)
			}
			near(t, "cv", e.CV, tc.cv, 1e-9)
			near(t, "low", e.Low, tc.low, 1e-6)
			near(t, "high", e.High, tc.high, 1e-6)
		})
	}
	if e := NewEstimate(nil); e != (Estimate{StdDDOF: Sample}) {
		t.Errorf("Describe(nil) = %+v, want zero", e)
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want []string
	}{
		{"stable", []float64{100, 101, 99}, nil},
		{"one run", []float64{100}, nil},
		// mean 10, squared deviations 6 / 2 = 3, std 1.7321 -> CV 17.3%.
		{"unstable", []float64{9, 9, 12}, []string{"x is unstable: CV 17.3% over 3 repetitions exceeds 10%"}},
		// mean 4, squared deviations 108 / 6 = 18, std 4.2426 -> CV 106.1%;
		// 10 is 150% off, 1 is 75% off, 4 not at all.
		{"outliers", []float64{1, 1, 10, 1, 1, 10, 4}, []string{
			"x is unstable: CV 106.1% over 7 repetitions exceeds 10%",
			"x: repetitions 50% or more off the mean 4: #1 1 (-75%), #2 1 (-75%), #3 10 (+150%), #4 1 (-75%), #5 1 (-75%), #6 10 (+150%)",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := StabilityWarnings("x", tc.xs)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestWelch(t *testing.T) {
	// Equal variances (1) and sizes (3): se^2 = 2/3, t = -3/sqrt(2/3) =
	// -3.6742346, df = (2/3)^2 / (2 * (1/3)^2 / 2) = 4, p = 0.0213116.
	w, ok := Welch([]float64{1, 2, 3}, []float64{4, 5, 6})
	if !ok {
		t.Fatal("Welch: not ok")
	}
	near(t, "t", w.T, -3.6742346142, 1e-9)
	near(t, "df", w.DF, 4, 1e-9)
	near(t, "p", w.P, 0.0213116411, 1e-7)

	// Unequal variances (2.5, 10): se^2 = 0.5 + 2 = 2.5, t = -3/sqrt(2.5),
	// df = 6.25 / (0.25/4 + 4/4) = 5.8823529, p = 0.1075312.
	w, ok = Welch([]float64{1, 2, 3, 4, 5}, []float64{2, 4, 6, 8, 10})
	if !ok {
		t.Fatal("Welch: not ok")
	}
	near(t, "t", w.T, -1.8973665961, 1e-9)
	near(t, "df", w.DF, 5.8823529412, 1e-9)
	near(t, "p", w.P, 0.1075311949, 1e-7)

	for _, bad := range [][2][]float64{{{1}, {1, 2}}, {{1, 2}, nil}, {{3, 3}, {4, 4}}} {
		if _, ok := Welch(bad[0], bad[1]); ok {
			t.Errorf("Welch(%v, %v) ok, want undefined", bad[0], bad[1])
		}
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name      string
		a, b      []float64
		ratio     float64
		low, high float64
		sig       bool
	}{
		// ma 3, mb 6, sa 0.5, sb 2, t = 2.4588237 at 5.8823529 df: the
		// roots of (36 - 2t^2) rho^2 - 36 rho + (9 - 0.5t^2).
		{"not significant", []float64{1, 2, 3, 4, 5}, []float64{2, 4, 6, 8, 10}, 0.5, 0.1900068813, 1.3157418207, false},
		// ma 5, mb 2, sa = sb = 1/3, t = 2.7764451 at 4 df; p = 0.0213.
		{"significant", []float64{4, 5, 6}, []float64{1, 2, 3}, 2.5, 1.2296711455, 12.7519346331, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := Compare(tc.a, tc.b)
			if !ok || r.Low == nil || r.High == nil {
				t.Fatalf("Compare = %+v, %v", r, ok)
			}
			near(t, "ratio", r.Ratio, tc.ratio, 1e-12)
			near(t, "low", *r.Low, tc.low, 1e-7)
			near(t, "high", *r.High, tc.high, 1e-7)
			if r.Significant != tc.sig || (*r.Low > 1 || *r.High < 1) != tc.sig {
				t.Errorf("significant %v (p %g), interval [%g, %g]; want %v and 1 outside exactly then", r.Significant, r.P, *r.Low, *r.High, tc.sig)
			}
		})
	}
	// A baseline too noisy to tell from zero: the test stands, the
	// interval is unbounded: mb 2, sb 1.27 at about 2 df, t^2 sb = 23.5 > mb^2.
	r, ok := Compare([]float64{10, 10.1, 9.9}, []float64{0.1, 4, 1.9})
	if !ok || r.Low != nil || r.High != nil {
		t.Errorf("noisy baseline: %+v, %v; want a test and no interval", r, ok)
	}
	if _, ok := Compare([]float64{1, 2}, []float64{-1, 1}); ok {
		t.Error("Compare against a zero mean: ok, want undefined")
	}
}

func TestGeoMean(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
		ok   bool
	}{
		{[]float64{2, 8}, 4, true},
		{[]float64{1.1, 0.9, 1.0}, math.Cbrt(0.99), true},
		{[]float64{1.25}, 1.25, true},
		{nil, 0, false},
		{[]float64{1, 0}, 0, false},
	}
	for _, tc := range tests {
		g, ok := GeoMean(tc.xs)
		if ok != tc.ok {
			t.Errorf("GeoMean(%v) ok = %v, want %v", tc.xs, ok, tc.ok)
		}
		near(t, "geomean", g, tc.want, 1e-12)
	}
}

func TestPValue(t *testing.T) {
	for _, tc := range []struct {
		p    float64
		want string
	}{{0.5, "0.500"}, {0.0495, "0.050"}, {0.001, "0.001"}, {0.00099, "<0.001"}, {0, "<0.001"}} {
		if got := PValue(tc.p); got != tc.want {
			t.Errorf("PValue(%g) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
