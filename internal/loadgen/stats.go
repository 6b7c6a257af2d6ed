package loadgen

import (
	"fmt"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// MinPercentileSamples is the number of values below which a Summary's
// percentiles carry a warning: with fewer, p90 and above are interpolated
// between the few largest values and say little about the tail.
const MinPercentileSamples = 20

// Summary describes a sample of values (milliseconds for latencies). The
// numbers are the ones vllm bench serve computes with numpy: Std is the
// population standard deviation (numpy's default, ddof=0), and percentiles
// interpolate linearly between the closest ranks (numpy's default "linear"
// method), so Median equals P50.
type Summary struct {
	Count  int     `json:"count"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	Std    float64 `json:"std"`
	Min    float64 `json:"min"`
	P50    float64 `json:"p50"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
	Max    float64 `json:"max"`
	// Warning is set when the percentiles rest on too few values.
	Warning string `json:"warning,omitempty"`
}

// Summarize describes xs, which it does not modify. An empty xs gives a
// zero Summary with a warning.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{Warning: "no values"}
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	mean, std := stat.PopMeanStdDev(sorted, nil)
	s := Summary{
		Count:  len(sorted),
		Mean:   mean,
		Std:    std,
		Min:    sorted[0],
		Median: Percentile(sorted, 50),
		P50:    Percentile(sorted, 50),
		P90:    Percentile(sorted, 90),
		P95:    Percentile(sorted, 95),
		P99:    Percentile(sorted, 99),
		Max:    sorted[len(sorted)-1],
	}
	if s.Count < MinPercentileSamples {
		s.Warning = fmt.Sprintf("only %d values: percentiles need >= %d to mean much", s.Count, MinPercentileSamples)
	}
	return s
}

// Percentile returns the p-th percentile (0..100) of sorted, which must be
// sorted ascending and not empty, as numpy.percentile's default "linear"
// method does: the value at rank h = (n-1)p/100, interpolated between the
// ranks around it. It uses gonum's stat.Quantile with stat.LinInterp, which
// interpolates the empirical CDF between the points (i/n, x[i-1]); asking
// it for the fraction ((n-1)p/100 + 1)/n lands on rank h exactly.
func Percentile(sorted []float64, p float64) float64 {
	n := float64(len(sorted))
	q := ((n-1)*p/100 + 1) / n
	return stat.Quantile(min(max(q, 0), 1), stat.LinInterp, sorted, nil)
}
