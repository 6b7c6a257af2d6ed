package metrics

import (
	"math"
	"slices"
	"testing"
)

// approx is equality to 1e-9 relative, for figures computed in another order
// than numpy's.
func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }

func TestPercentile(t *testing.T) {
	// Expected values are numpy 2's: np.percentile(xs, p) for Linear
	// (method="linear", the default) and method="inverted_cdf" for
	// NearestRank.
	ps := []float64{0, 25, 50, 90, 99, 100}
	for _, tc := range []struct {
		name            string
		sorted          []float64
		linear, nearest []float64
	}{
		{"four", []float64{10, 20, 30, 40},
			[]float64{10, 17.5, 25, 37, 39.699999999999996, 40}, []float64{10, 10, 20, 40, 40, 40}},
		{"odd", []float64{15, 20, 35, 40, 50},
			[]float64{15, 20, 35, 46, 49.6, 50}, []float64{15, 20, 35, 50, 50, 50}},
		{"one", []float64{7}, []float64{7, 7, 7, 7, 7, 7}, []float64{7, 7, 7, 7, 7, 7}},
		{"ties", []float64{1, 1, 2, 2, 2, 9},
			[]float64{1, 1.25, 2, 5.5, 8.650000000000002, 9}, []float64{1, 1, 2, 9, 9, 9}},
		{"tenths", []float64{0.1, 0.2, 0.3, 0.7, 1.1, 2.9, 3.3},
			[]float64{0.1, 0.25, 0.7, 3.06, 3.276, 3.3}, []float64{0.1, 0.2, 0.7, 3.3, 3.3, 3.3}},
		// Ten values: nearest-rank p90 is the 9th, exactly (0.9 * 10 must
		// not round up to a 10th rank).
		{"ten", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
			[]float64{1, 3.25, 5.5, 9.1, 9.91, 10}, []float64{1, 3, 5, 9, 10, 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, p := range ps {
				if got := Percentile(tc.sorted, p, Linear); !approx(got, tc.linear[i]) {
					t.Errorf("linear p%g = %v, want %v", p, got, tc.linear[i])
				}
				if got := Percentile(tc.sorted, p, NearestRank); got != tc.nearest[i] {
					t.Errorf("nearest-rank p%g = %v, want %v", p, got, tc.nearest[i])
				}
			}
		})
	}
}

func TestMeanStd(t *testing.T) {
	// Expected values are numpy's np.mean and np.std(xs, ddof=0 and 1).
	for _, tc := range []struct {
		name            string
		xs              []float64
		mean, pop, samp float64
	}{
		{"four", []float64{40, 10, 30, 20}, 25, 11.180339887498949, 12.909944487358056},
		{"ties", []float64{1, 1, 2, 2, 2, 9}, 2.8333333333333335, 2.7938424357067015, 3.0605010483034745},
		{"tenths", []float64{0.1, 0.2, 0.3, 0.7, 1.1, 2.9, 3.3}, 1.2285714285714289, 1.2290696664135679, 1.3275469680508303},
		// The sample std of one value is undefined (numpy: nan); 0 here.
		{"one", []float64{7}, 7, 0, 0},
		{"none", nil, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Mean(tc.xs); !approx(got, tc.mean) {
				t.Errorf("Mean = %v, want %v", got, tc.mean)
			}
			for _, c := range []struct {
				d    DDOF
				want float64
			}{{Population, tc.pop}, {Sample, tc.samp}} {
				mean, std := MeanStd(tc.xs, c.d)
				if !approx(mean, tc.mean) || !approx(std, c.want) {
					t.Errorf("ddof %d: mean %v std %v, want %v %v", c.d, mean, std, tc.mean, c.want)
				}
				if _, v := MeanVariance(tc.xs, c.d); !approx(v, c.want*c.want) {
					t.Errorf("ddof %d: variance %v, want %v", c.d, v, c.want*c.want)
				}
			}
		})
	}
}

func TestSummarizePopulation(t *testing.T) {
	// Expected values are numpy's: np.mean, np.median, np.std (ddof=0) and
	// np.percentile (method="linear").
	for _, tc := range []struct {
		name string
		xs   []float64
		want Summary
		warn bool
	}{
		{"four TTFTs", []float64{40, 10, 30, 20}, Summary{
			Count: 4, Mean: 25, Median: 25, Std: math.Sqrt(125), Min: 10, Max: 40,
			P50: 25, P90: 37, P95: 38.5, P99: 39.7}, true},
		{"odd count", []float64{15, 20, 35, 40, 50}, Summary{
			Count: 5, Mean: 32, Median: 35, Std: math.Sqrt(166), Min: 15, Max: 50,
			P50: 35, P90: 46, P95: 48, P99: 49.6}, true},
		{"one value", []float64{7}, Summary{Count: 1, Mean: 7, Median: 7, Min: 7, Max: 7, P50: 7, P90: 7, P95: 7, P99: 7}, true},
		{"1..20", seq(20), Summary{
			Count: 20, Mean: 10.5, Median: 10.5, Std: math.Sqrt(33.25), Min: 1, Max: 20,
			P50: 10.5, P90: 18.1, P95: 19.05, P99: 19.81}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.xs)
			got := Summarize(in, Population)
			if !slices.Equal(in, tc.xs) {
				t.Errorf("Summarize reordered its input: %v", in)
			}
			if (got.Warning != "") != tc.warn {
				t.Errorf("warning = %q, want one: %v", got.Warning, tc.warn)
			}
			got.Warning = ""
			if got.StdDDOF != Population || got.PercentileMethod != Linear {
				t.Errorf("conventions = std_ddof %d, %q; want 0, linear", got.StdDDOF, got.PercentileMethod)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"count", float64(got.Count), float64(tc.want.Count)}, {"mean", got.Mean, tc.want.Mean},
				{"median", got.Median, tc.want.Median}, {"std", got.Std, tc.want.Std},
				{"min", got.Min, tc.want.Min}, {"max", got.Max, tc.want.Max},
				{"p50", got.P50, tc.want.P50}, {"p90", got.P90, tc.want.P90},
				{"p95", got.P95, tc.want.P95}, {"p99", got.P99, tc.want.P99},
			} {
				if !approx(f.got, f.want) {
					t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
				}
			}
		})
	}
	if s := Summarize(nil, Population); s.Count != 0 || s.Mean != 0 || s.Warning == "" {
		t.Errorf("empty: %+v, want zeros and a warning", s)
	}
}

func seq(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	return xs
}

func TestSummarizeSample(t *testing.T) {
	s := Summarize([]float64{4, 1, 3, 2}, Sample)
	if s.Count != 4 || s.Mean != 2.5 || s.Min != 1 || s.Max != 4 {
		t.Errorf("summary = %+v", s)
	}
	if math.Abs(s.Std-math.Sqrt(5.0/3)) > 1e-12 {
		t.Errorf("std = %v, want sample std %v", s.Std, math.Sqrt(5.0/3))
	}
	if one := Summarize([]float64{7}, Sample); one.Std != 0 || one.Median != 7 {
		t.Errorf("one value: %+v", one)
	}
	// numpy: np.median([4, 1, 3, 2]) = 2.5 (gonum's LinInterp gave 2).
	if s.Median != 2.5 || s.StdDDOF != Sample || s.PercentileMethod != Linear {
		t.Errorf("median %v, std_ddof %d, %q; want 2.5, 1, linear", s.Median, s.StdDDOF, s.PercentileMethod)
	}
	if (Summarize(nil, Sample) != Summary{StdDDOF: Sample, PercentileMethod: Linear, Warning: "no values"}) {
		t.Error("empty sample must give a zero summary")
	}
}
