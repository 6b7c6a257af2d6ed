// Confidence says how sure a repeated measurement is: the mean of
// K repetitions with its standard deviation, coefficient of variation and
// 95% Student's t interval, pyperf's stability warnings, and the ratio of
// two such measurements with Welch's t-test. Every figure here is computed
// from the repetitions alone, so a report can recompute it from the
// result files.

package metrics

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// ConfidenceLevel is the confidence level of every interval, and 1-Level the
// significance level of every test.
const ConfidenceLevel = 0.95

// Alpha is the significance level of the comparisons.
const Alpha = 1 - ConfidenceLevel

// The thresholds of the stability warnings, as pyperf uses them.
const (
	// MaxCV is the coefficient of variation above which a figure is
	// called unstable.
	MaxCV = 0.10
	// MaxOutlier is the relative distance from the mean beyond which a
	// repetition is called an outlier.
	MaxOutlier = 0.50
)

// Estimate is the mean of repeated measurements of one figure. Std, CV and
// the interval need two repetitions at least; with one they are zero and
// Low and High equal the mean.
type Estimate struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	// Std is the sample standard deviation (n-1 in the denominator), as
	// StdDDOF records.
	Std     float64 `json:"std"`
	StdDDOF DDOF    `json:"std_ddof"`
	// CV is Std over Mean.
	CV float64 `json:"cv"`
	// Low and High bound the 95% Student's t interval of the mean.
	Low  float64 `json:"ci95_low"`
	High float64 `json:"ci95_high"`
}

// NewEstimate estimates the mean of xs. With no values every figure is zero.
func NewEstimate(xs []float64) Estimate { return NewEstimateAt(xs, Alpha) }

// NewEstimateAt is NewEstimate with the interval at level 1 - alpha, as a
// sequential rule's looks need it.
func NewEstimateAt(xs []float64, alpha float64) Estimate {
	e := Estimate{N: len(xs), StdDDOF: Sample}
	switch len(xs) {
	case 0:
		return e
	case 1:
		e.Mean, e.Low, e.High = xs[0], xs[0], xs[0]
		return e
	}
	e.Mean, e.Std = MeanStd(xs, Sample)
	if e.Mean != 0 {
		e.CV = e.Std / math.Abs(e.Mean)
	}
	half := tQuantile(float64(e.N-1), alpha) * e.Std / math.Sqrt(float64(e.N))
	e.Low, e.High = e.Mean-half, e.Mean+half
	return e
}

// HalfWidth is half the interval as a share of the mean (0 without one).
func (e Estimate) HalfWidth() float64 {
	if e.Mean == 0 {
		return 0
	}
	return (e.High - e.Low) / 2 / math.Abs(e.Mean)
}

// tQuantile is the two-sided critical value of Student's t with df
// degrees of freedom at significance level alpha.
func tQuantile(df, alpha float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - alpha/2)
}

// tTwoSided is the two-sided p-value of t with df degrees of freedom.
func tTwoSided(t, df float64) float64 {
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
}

// StabilityWarnings are pyperf's stability checks of the repetitions of the figure
// called name: a CV above MaxCV, and repetitions MaxOutlier or further from
// the mean (one warning naming them all). Fewer than two repetitions give
// none.
func StabilityWarnings(name string, xs []float64) []string {
	e := NewEstimate(xs)
	if e.N < 2 {
		return nil
	}
	var warns []string
	if e.CV > MaxCV {
		warns = append(warns, fmt.Sprintf("%s is unstable: CV %.1f%% over %d repetitions exceeds %.0f%%", name, 100*e.CV, e.N, 100*MaxCV))
	}
	var off []string
	for i, x := range xs {
		if e.Mean != 0 && math.Abs(x-e.Mean) >= MaxOutlier*math.Abs(e.Mean) {
			off = append(off, fmt.Sprintf("#%d %.4g (%+.0f%%)", i+1, x, 100*(x-e.Mean)/math.Abs(e.Mean)))
		}
	}
	if len(off) > 0 {
		warns = append(warns, fmt.Sprintf("%s: repetitions %.0f%% or more off the mean %.4g: %s", name, 100*MaxOutlier, e.Mean, strings.Join(off, ", ")))
	}
	return warns
}

// WelchTest is Welch's unequal-variances t-test of two means.
type WelchTest struct {
	T float64 `json:"t"`
	// DF is the Welch-Satterthwaite degrees of freedom.
	DF float64 `json:"df"`
	// P is the two-sided p-value.
	P float64 `json:"p"`
}

// Welch tests whether a and b have the same mean. ok is false when either
// has fewer than two values, or both have no variance (the test is then
// undefined).
func Welch(a, b []float64) (t WelchTest, ok bool) {
	if len(a) < 2 || len(b) < 2 {
		return WelchTest{}, false
	}
	ma, va := MeanVariance(a, Sample)
	mb, vb := MeanVariance(b, Sample)
	sa, sb := va/float64(len(a)), vb/float64(len(b))
	se2 := sa + sb
	if se2 == 0 {
		return WelchTest{}, false
	}
	t.T = (ma - mb) / math.Sqrt(se2)
	t.DF = se2 * se2 / (sa*sa/float64(len(a)-1) + sb*sb/float64(len(b)-1))
	t.P = tTwoSided(t.T, t.DF)
	return t, true
}

// Ratio is the ratio of two means with its 95% interval and the Welch test
// of the difference between the means.
type Ratio struct {
	Ratio float64 `json:"ratio"`
	// Low and High bound Fieller's 95% interval of the ratio; both are nil
	// when it is unbounded, as it is when the denominator's mean cannot be
	// told from zero at this level.
	Low  *float64 `json:"ci95_low,omitempty"`
	High *float64 `json:"ci95_high,omitempty"`
	WelchTest
	// Significant is P < Alpha.
	Significant bool `json:"significant"`
	// Looks, above 1, is the number of looks a sequential stopping rule
	// took at the two samples together: the interval is then at level
	// 1 - Alpha/Looks and P is Bonferroni's, Looks times the test's
	// (at most 1), so that Significant still means a 5% error rate.
	Looks int `json:"looks,omitempty"`
}

// Compare is mean(a) / mean(b) with Fieller's interval: the ratios rho
// for which mean(a) - rho mean(b) is within t standard errors of 0, t the
// Student's quantile at the Welch degrees of freedom. At rho = 1 that is
// Welch's test itself, so the interval leaves out 1 exactly when the
// difference is significant, which the simpler delta-method interval does
// not promise when mean(b) is uncertain. ok is false where Welch's test is
// undefined, or mean(b) is 0.
func Compare(a, b []float64) (r Ratio, ok bool) { return CompareLooks(a, b, 1) }

// CompareLooks is Compare corrected for looks looks of a sequential
// stopping rule (see Ratio.Looks); 1 is Compare itself.
func CompareLooks(a, b []float64, looks int) (r Ratio, ok bool) {
	looks = max(looks, 1)
	test, ok := Welch(a, b)
	if !ok {
		return Ratio{}, false
	}
	ma, va := MeanVariance(a, Sample)
	mb, vb := MeanVariance(b, Sample)
	if mb == 0 {
		return Ratio{}, false
	}
	test.P = math.Min(1, test.P*float64(looks))
	r.Ratio, r.WelchTest, r.Significant = ma/mb, test, test.P < Alpha
	if looks > 1 {
		r.Looks = looks
	}
	sa, sb := va/float64(len(a)), vb/float64(len(b))
	t2 := math.Pow(tQuantile(test.DF, Alpha/float64(looks)), 2)
	// (ma - rho mb)^2 <= t2 (sa + rho^2 sb), a quadratic in rho whose
	// leading coefficient qa must be positive for a bounded interval.
	qa, qc := mb*mb-t2*sb, ma*ma-t2*sa
	if disc := ma*ma*mb*mb - qa*qc; qa > 0 && disc >= 0 {
		lo, hi := (ma*mb-math.Sqrt(disc))/qa, (ma*mb+math.Sqrt(disc))/qa
		r.Low, r.High = &lo, &hi
	}
	return r, true
}

// PValue prints a p-value as every report does: three decimals, or as an
// upper bound when it rounds to zero.
func PValue(p float64) string {
	if p < 0.001 {
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

// GeoMean is the geometric mean of positive ratios; ok is false for none,
// or for a ratio that is not positive.
func GeoMean(xs []float64) (g float64, ok bool) {
	if len(xs) == 0 {
		return 0, false
	}
	for _, x := range xs {
		if !(x > 0) {
			return 0, false
		}
	}
	return stat.GeometricMean(xs, nil), true
}
