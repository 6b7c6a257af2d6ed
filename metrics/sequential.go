// Sequential stopping: --repeat auto adds passes until the headline
// interval is as narrow as asked. Looking at the data after every pass and
// stopping when it looks good makes a 95% interval cover less than 95% of
// the time (it stops on runs whose spread happened to look small), so the
// rule looks only at fixed pass counts and computes each look's interval at
// level 1 - Alpha/L for L looks: by Bonferroni's inequality the chance that
// any look's interval misses the truth, and so the one it stops at, is at
// most Alpha whatever the data.

package metrics

import (
	"fmt"
	"math"
	"strings"
)

// MinSequentialPasses is the first look: fewer passes leave Student's t
// with one degree of freedom, whose interval says next to nothing.
const MinSequentialPasses = 3

// lookGrowth spaces the looks: each at least this many times the last,
// so that their number, and with it the correction, grows with the log of
// the maximum.
const lookGrowth = 1.5

// Sequential is the rule: look at Looks() pass counts, stop at the first
// whose interval is within Target of its figure, or at Max.
type Sequential struct {
	// Target bounds the interval's half width as a share of its figure.
	Target float64 `json:"target_ci"`
	Max    int     `json:"max_passes"`
}

// NewSequential checks a rule's settings.
func NewSequential(target float64, maxPasses int) (Sequential, error) {
	switch {
	case !(target > 0 && target < 1):
		return Sequential{}, fmt.Errorf("the target interval must be a share in (0, 1) such as 0.02, got %g", target)
	case maxPasses < MinSequentialPasses:
		return Sequential{}, fmt.Errorf("the most passes must be at least %d, got %d", MinSequentialPasses, maxPasses)
	}
	return Sequential{Target: target, Max: maxPasses}, nil
}

// Looks are the pass counts the rule looks at: MinSequentialPasses, then
// each lookGrowth times the last (rounded up), and Max.
func (s Sequential) Looks() []int {
	var looks []int
	for n := MinSequentialPasses; n < s.Max; n = int(math.Ceil(float64(n) * lookGrowth)) {
		looks = append(looks, n)
	}
	return append(looks, s.Max)
}

// NumLooks is how many looks the intervals are corrected for.
func (s Sequential) NumLooks() int { return len(s.Looks()) }

// Alpha is each look's significance level.
func (s Sequential) Alpha() float64 { return Alpha / float64(s.NumLooks()) }

// Looking reports whether the rule looks after n passes.
func (s Sequential) Looking(n int) bool {
	for _, l := range s.Looks() {
		if l == n {
			return true
		}
	}
	return false
}

// Method says how the rule keeps its level, for a result and a report.
func (s Sequential) Method() string {
	looks := s.Looks()
	at := make([]string, len(looks))
	for i, l := range looks {
		at[i] = fmt.Sprint(l)
	}
	return fmt.Sprintf("Bonferroni over %d looks at %s passes: each look's interval at level %.2f%%, so that the one it stops at covers with %.0f%% confidence",
		len(looks), strings.Join(at, ", "), 100*(1-s.Alpha()), 100*ConfidenceLevel)
}

// Stop is where a sequence of passes ended, and why.
type Stop struct {
	Sequential
	Looks  []int  `json:"looks"`
	Method string `json:"method"`
	// Passes ran; Reached says whether the target was met, HalfWidth is
	// the widest headline interval's half width at the last look.
	Passes    int     `json:"passes"`
	Reached   bool    `json:"target_reached"`
	HalfWidth float64 `json:"half_width"`
	Reason    string  `json:"reason"`
}

// Check applies the rule after n passes, whose headline intervals, computed
// at level 1 - s.Alpha(), have halfWidth as the widest half width: done is
// true when the sequence ends here. NaN (no interval yet) never meets the
// target.
func (s Sequential) Check(n int, halfWidth float64) (st Stop, done bool) {
	if !s.Looking(n) {
		return Stop{}, false
	}
	st = Stop{Sequential: s, Looks: s.Looks(), Method: s.Method(), Passes: n, HalfWidth: halfWidth}
	st.Reached = halfWidth <= s.Target
	switch {
	case st.Reached:
		st.Reason = fmt.Sprintf("the interval is within ±%.1f%% after %d passes (±%.1f%%, corrected for %d looks)",
			100*s.Target, n, 100*halfWidth, s.NumLooks())
	case n >= s.Max:
		st.Reason = fmt.Sprintf("reached --max-repeat %d with the interval at ±%.1f%%, wider than the target ±%.1f%%",
			s.Max, 100*halfWidth, 100*s.Target)
	default:
		return Stop{}, false
	}
	return st, true
}
