// Paired comparisons: two configurations measured in the same rounds, each
// round one pass of each, compared round by round. Drift that moves both
// passes of a round (clocks, other tenants, heat) cancels in the round's
// ratio; a comparison of two separate series (Compare) keeps it.

package metrics

import (
	"math"
)

// PairedRatio is the ratio of a to b over rounds of one pass each: the
// geometric mean of the per-round ratios, with the Student's t interval and
// the paired t-test of their logarithms. Throughputs are compared on logs
// because their noise is multiplicative and a ratio's inverse must be the
// inverse ratio.
type PairedRatio struct {
	Ratio float64 `json:"ratio"`
	// Low and High bound the interval, at level Level.
	Low   float64 `json:"ci_low"`
	High  float64 `json:"ci_high"`
	Level float64 `json:"level"`
	// Rounds is the number of pairs; DF is Rounds - 1.
	Rounds int     `json:"rounds"`
	T      float64 `json:"t"`
	DF     float64 `json:"df"`
	// P is the two-sided p-value of the paired t-test that the log ratio
	// is 0, Bonferroni-corrected for Looks as in Ratio.
	P           float64 `json:"p"`
	Significant bool    `json:"significant"`
	// Looks is as in Ratio: the looks a sequential stopping rule took,
	// which the interval's level and P are corrected for (1: none).
	Looks int `json:"looks"`
}

// Paired compares a[i] with b[i], both positive and of the same length,
// with the interval and test corrected for looks looks (1 for a fixed
// number of rounds). ok is false for fewer than two rounds, a value that is
// not positive, or lengths that differ.
func Paired(a, b []float64, looks int) (r PairedRatio, ok bool) {
	if len(a) != len(b) || len(a) < 2 {
		return PairedRatio{}, false
	}
	d := make([]float64, len(a))
	for i := range a {
		if !(a[i] > 0 && b[i] > 0) {
			return PairedRatio{}, false
		}
		d[i] = math.Log(a[i] / b[i])
	}
	looks = max(looks, 1)
	alpha := Alpha / float64(looks)
	n := float64(len(d))
	mean, std := MeanStd(d, Sample)
	se := std / math.Sqrt(n)
	r = PairedRatio{Ratio: math.Exp(mean), Level: 1 - alpha, Rounds: len(d), DF: n - 1, Looks: looks}
	half := tQuantile(r.DF, alpha) * se
	r.Low, r.High = math.Exp(mean-half), math.Exp(mean+half)
	switch {
	case se > 0:
		r.T = mean / se
		r.P = math.Min(1, tTwoSided(r.T, r.DF)*float64(looks))
	case mean == 0:
		r.P = 1
	default: // every round gave the same ratio, other than 1
		r.T, r.P = math.Copysign(math.Inf(1), mean), 0
	}
	r.Significant = r.P < Alpha
	return r, true
}

// HalfWidth is half the interval as a share of the ratio: what a stopping
// rule's target bounds.
func (r PairedRatio) HalfWidth() float64 { return (r.High - r.Low) / 2 / r.Ratio }

// Overlaps reports whether the intervals of r and band share a point.
func (r PairedRatio) Overlaps(band PairedRatio) bool {
	return r.Low <= band.High && band.Low <= r.High
}
