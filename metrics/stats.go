// The one definition of each statistic the project reports. Two figures
// have more than one convention in use, and each is a named choice here:
// percentiles (numpy's "linear" for summaries, nearest rank for the
// timeline) and the standard deviation (sample for intervals and tests,
// population only where vllm bench serve's keys require it). Result JSON
// records the choice next to the figures (percentile_method, std_ddof).

package metrics

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// PercentileMethod names how a percentile is read off sorted values.
type PercentileMethod string

const (
	// Linear is numpy.percentile's default method: the value at rank
	// h = (n-1)p/100, interpolated between the ranks around it. It is what
	// vllm bench serve reports, and what every Summary uses.
	Linear PercentileMethod = "linear"
	// NearestRank is the ceil(pn/100)-th smallest value (the smallest for
	// p = 0): always an observed value, so "p90 of finish times" is the
	// moment a sample finished.
	NearestRank PercentileMethod = "nearest-rank"
)

// Percentile returns the p-th percentile (0..100) of sorted, which must be
// sorted ascending and not empty, by method.
func Percentile(sorted []float64, p float64, method PercentileMethod) float64 {
	n := len(sorted)
	switch method {
	case Linear:
		// As numpy computes it: q = p/100, h = q(n-1), then a lerp that
		// starts from the nearer end, so the result is exact at the ends.
		h := p / 100 * float64(n-1)
		lo := int(math.Floor(h))
		lo = min(max(lo, 0), n-1)
		hi := min(lo+1, n-1)
		a, b, g := sorted[lo], sorted[hi], h-float64(lo)
		if g >= 0.5 {
			return b - (b-a)*(1-g)
		}
		return a + (b-a)*g
	case NearestRank:
		// p*n before the division keeps ranks such as 90% of 10 exact.
		k := int(math.Ceil(p*float64(n)/100)) - 1
		return sorted[min(max(k, 0), n-1)]
	}
	panic(fmt.Sprintf("metrics: unknown percentile method %q", method))
}

// DDOF is a standard deviation's convention, named as numpy names it
// (delta degrees of freedom): squared deviations are divided by n - DDOF.
type DDOF int

const (
	// Population divides by n: numpy's default, and vllm bench serve's
	// std_ keys. Used only for figures that must match those.
	Population DDOF = 0
	// Sample divides by n-1, the unbiased variance: every interval, test
	// and stability warning, and every summary not bound to vllm's keys.
	Sample DDOF = 1
)

// Mean is the arithmetic mean of xs, 0 for none.
func Mean(xs []float64) float64 {
	m, _ := MeanVariance(xs, Population)
	return m
}

// MeanVariance returns the mean and variance of xs by convention d. The
// variance is 0 where it is undefined: no values, or one with Sample.
func MeanVariance(xs []float64, d DDOF) (mean, variance float64) {
	switch {
	case len(xs) == 0:
		return 0, 0
	case d == Population:
		return stat.PopMeanVariance(xs, nil)
	case len(xs) == 1:
		return xs[0], 0
	}
	return stat.MeanVariance(xs, nil)
}

// MeanStd returns the mean and standard deviation of xs by convention d
// (0 where undefined, as in MeanVariance).
func MeanStd(xs []float64, d DDOF) (mean, std float64) {
	mean, v := MeanVariance(xs, d)
	return mean, math.Sqrt(v)
}

// MinPercentileSamples is the number of values below which a Summary's
// percentiles carry a warning: with fewer, p90 and above are interpolated
// between the few largest values and say little about the tail.
const MinPercentileSamples = 20

// Summary describes a sample of values. Its percentiles (Median equals P50)
// use Linear; its Std uses the convention StdDDOF records.
type Summary struct {
	Count  int     `json:"count"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	Std    float64 `json:"std"`
	// StdDDOF is Std's convention: 0 population, 1 sample.
	StdDDOF DDOF    `json:"std_ddof"`
	Min     float64 `json:"min"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P95     float64 `json:"p95"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
	// PercentileMethod is the percentiles' method, always Linear.
	PercentileMethod PercentileMethod `json:"percentile_method"`
	// Warning is set when the percentiles rest on too few values.
	Warning string `json:"warning,omitempty"`
}

// Summarize describes xs, which it does not modify, with the standard
// deviation of convention d. An empty xs gives zero figures with a warning.
func Summarize(xs []float64, d DDOF) Summary {
	s := Summary{Count: len(xs), StdDDOF: d, PercentileMethod: Linear}
	if len(xs) == 0 {
		s.Warning = "no values"
		return s
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	pct := func(p float64) float64 { return Percentile(sorted, p, Linear) }
	s.Mean, s.Std = MeanStd(sorted, d)
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	s.Median, s.P50, s.P90, s.P95, s.P99 = pct(50), pct(50), pct(90), pct(95), pct(99)
	if s.Count < MinPercentileSamples {
		s.Warning = fmt.Sprintf("only %d values: percentiles need >= %d to mean much", s.Count, MinPercentileSamples)
	}
	return s
}
