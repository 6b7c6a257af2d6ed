package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestLooks(t *testing.T) {
	for _, tc := range []struct {
		max  int
		want []int
	}{
		{3, []int{3}},
		{4, []int{3, 4}},
		{5, []int{3, 5}},
		{20, []int{3, 5, 8, 12, 18, 20}},
		{27, []int{3, 5, 8, 12, 18, 27}},
	} {
		s, err := NewSequential(0.02, tc.max)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Looks(); !slices.Equal(got, tc.want) {
			t.Errorf("max %d: looks %v, want %v", tc.max, got, tc.want)
		}
		if got, want := s.Alpha(), Alpha/float64(len(tc.want)); math.Abs(got-want) > 1e-15 {
			t.Errorf("max %d: alpha %g, want %g", tc.max, got, want)
		}
	}
}

func TestNewSequentialRefuses(t *testing.T) {
	for _, tc := range []struct {
		target float64
		max    int
	}{{0, 20}, {1, 20}, {math.NaN(), 20}, {-0.1, 20}, {0.02, 2}} {
		if _, err := NewSequential(tc.target, tc.max); err == nil {
			t.Errorf("NewSequential(%g, %d) accepted", tc.target, tc.max)
		}
	}
}

func TestSequentialCheck(t *testing.T) {
	s := Sequential{Target: 0.05, Max: 8}
	for _, tc := range []struct {
		name      string
		n         int
		halfWidth float64
		done      bool
		reached   bool
	}{
		{"not a look", 4, 0.01, false, false},
		{"too wide at a look", 5, 0.06, false, false},
		{"no interval yet", 3, math.NaN(), false, false},
		{"narrow enough", 5, 0.05, true, true},
		{"at the maximum, wide", 8, 0.2, true, false},
		{"at the maximum, narrow", 8, 0.01, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, done := s.Check(tc.n, tc.halfWidth)
			if done != tc.done || st.Reached != tc.reached {
				t.Fatalf("Check(%d, %g) = done %v reached %v, want %v %v", tc.n, tc.halfWidth, done, st.Reached, tc.done, tc.reached)
			}
			if done && (st.Passes != tc.n || st.Reason == "" || len(st.Looks) != 3) {
				t.Errorf("stop %+v", st)
			}
		})
	}
}

func TestPaired(t *testing.T) {
	// Log ratios 0.1, 0.2, 0.15: mean 0.15, sd 0.05, t = 0.15/(0.05/sqrt 3);
	// with 2 degrees of freedom p = 1 - t/sqrt(2+t^2) in closed form.
	b := []float64{100, 200, 300}
	a := []float64{100 * math.Exp(0.1), 200 * math.Exp(0.2), 300 * math.Exp(0.15)}
	r, ok := Paired(a, b, 1)
	if !ok {
		t.Fatal("not ok")
	}
	tt := 0.15 / (0.05 / math.Sqrt(3))
	if math.Abs(r.Ratio-math.Exp(0.15)) > 1e-12 || math.Abs(r.T-tt) > 1e-9 || math.Abs(r.P-(1-tt/math.Sqrt(2+tt*tt))) > 1e-9 {
		t.Errorf("got ratio %g t %g p %g", r.Ratio, r.T, r.P)
	}
	if !r.Significant || r.Low >= r.Ratio || r.High <= r.Ratio || r.Level != ConfidenceLevel {
		t.Errorf("interval %+v", r)
	}
	corrected, _ := Paired(a, b, 5)
	if corrected.P != math.Min(1, 5*r.P) || corrected.Low >= r.Low || corrected.High <= r.High {
		t.Errorf("corrected for 5 looks: %+v against %+v", corrected, r)
	}
	// Swapping the arms inverts the ratio and its interval.
	inv, _ := Paired(b, a, 1)
	if math.Abs(inv.Ratio*r.Ratio-1) > 1e-12 || math.Abs(inv.Low*r.High-1) > 1e-12 {
		t.Errorf("inverse %+v of %+v", inv, r)
	}
	for name, ab := range map[string][2][]float64{
		"one round":    {{1}, {1}},
		"lengths":      {{1, 2}, {1, 2, 3}},
		"not positive": {{1, 0}, {1, 1}},
	} {
		if _, ok := Paired(ab[0], ab[1], 1); ok {
			t.Errorf("%s: ok", name)
		}
	}
	same, _ := Paired([]float64{2, 4}, []float64{1, 2}, 1)
	if same.Ratio != 2 || same.P != 0 || !same.Significant {
		t.Errorf("constant ratio 2: %+v", same)
	}
}

// The simulations below draw throughputs the way this machine's passes
// spread: every round shares a drift (lognormal, sd 15%), and every pass
// has its own noise (sd 8%). They are seeded, so they pass or fail the
// same way everywhere.
const (
	trials     = 2000
	roundDrift = 0.15
	passNoise  = 0.08
)

// maxRate is the most a rate estimated from trials may exceed p by before
// a test calls it above p: three standard errors.
func maxRate(p float64) float64 { return p + 3*math.Sqrt(p*(1-p)/trials) }

// drawRound draws one round's passes of two arms whose true ratio is ratio.
func drawRound(rng *rand.Rand, ratio float64) (a, b float64) {
	drift := math.Exp(roundDrift * rng.NormFloat64())
	return 1000 * ratio * drift * math.Exp(passNoise*rng.NormFloat64()), 1000 * drift * math.Exp(passNoise*rng.NormFloat64())
}

// pairedTrial runs the stopping rule s on simulated rounds of two arms whose
// true ratio is ratio, and returns the comparison it stops with.
func pairedTrial(rng *rand.Rand, s Sequential, ratio float64) (PairedRatio, Stop) {
	var a, b []float64
	for n := 1; ; n++ {
		x, y := drawRound(rng, ratio)
		a, b = append(a, x), append(b, y)
		r, ok := Paired(a, b, s.NumLooks())
		hw := math.NaN()
		if ok {
			hw = r.HalfWidth()
		}
		if st, done := s.Check(n, hw); done {
			return r, st
		}
	}
}

// TestSequentialKeepsLevel: with nothing to find, the paired comparison at
// the rule's stop is significant at most Alpha of the time, while the rule
// does stop early in many trials (else it would test a fixed count).
func TestSequentialKeepsLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := Sequential{Target: 0.12, Max: 20}
	positives, early := 0, 0
	for range trials {
		r, st := pairedTrial(rng, s, 1)
		if r.Significant {
			positives++
		}
		if st.Passes < s.Max {
			early++
		}
	}
	rate := float64(positives) / trials
	if rate > maxRate(Alpha) {
		t.Errorf("false-positive rate %.4f over %d trials, above %.2f", rate, trials, Alpha)
	}
	if early < trials/3 {
		t.Errorf("only %d of %d trials stopped before %d rounds: the target does not exercise the rule", early, trials, s.Max)
	}
	t.Logf("false-positive rate %.4f; %d of %d trials stopped early", rate, early, trials)
}

// TestSequentialFindsADifference: the correction costs width, not the
// verdict: a true 15% speedup is found in nearly every trial.
func TestSequentialFindsADifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := Sequential{Target: 0.03, Max: 20}
	found := 0
	for range trials {
		if r, _ := pairedTrial(rng, s, 1.15); r.Significant && r.Ratio > 1 {
			found++
		}
	}
	if found < trials*9/10 {
		t.Errorf("a 15%% speedup found in %d of %d trials", found, trials)
	}
}

// TestUncorrectedStoppingInflates shows why the correction is there: the
// same rule with 95% intervals at every pass count stops on runs whose
// spread happened to look small, and its intervals miss more often.
func TestUncorrectedStoppingInflates(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	positives := 0
	for range trials {
		var a, b []float64
		for n := 1; n <= 20; n++ {
			x, y := drawRound(rng, 1)
			a, b = append(a, x), append(b, y)
			r, ok := Paired(a, b, 1)
			if ok && n >= 3 && (r.HalfWidth() <= 0.06 || r.Significant || n == 20) {
				if r.Significant {
					positives++
				}
				break
			}
		}
	}
	if rate := float64(positives) / trials; rate <= maxRate(Alpha) {
		t.Errorf("peeking at every pass gave a false-positive rate of %.4f: the simulation does not show the problem", rate)
	}
}

// TestAAIntervalCoverage: a paired A/A comparison over a fixed number of
// rounds contains 1.0 in 95% of trials, within sampling error either way.
func TestAAIntervalCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	contains := 0
	for range trials {
		var a, b []float64
		for range 6 {
			x, y := drawRound(rng, 1)
			a, b = append(a, x), append(b, y)
		}
		if r, _ := Paired(a, b, 1); r.Low <= 1 && 1 <= r.High {
			contains++
		}
	}
	cover := float64(contains) / trials
	if miss := 1 - cover; miss > maxRate(Alpha) || miss < 2*Alpha-maxRate(Alpha) {
		t.Errorf("the A/A interval contains 1.0 in %.4f of %d trials, want %.2f within sampling error", cover, trials, ConfidenceLevel)
	}
}

// TestSequentialEstimateCoverage: for one series of passes (--repeat auto
// on one engine), the interval the rule stops with covers the true mean at
// least 95% of the time.
func TestSequentialEstimateCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	s := Sequential{Target: 0.08, Max: 20}
	misses := 0
	for range trials {
		var xs []float64
		for n := 1; ; n++ {
			xs = append(xs, 1000*(1+0.17*rng.NormFloat64()))
			e := NewEstimateAt(xs, s.Alpha())
			hw := math.NaN()
			if n >= 2 {
				hw = e.HalfWidth()
			}
			if _, done := s.Check(n, hw); done {
				if e.Low > 1000 || e.High < 1000 {
					misses++
				}
				break
			}
		}
	}
	if rate := float64(misses) / trials; rate > maxRate(Alpha) {
		t.Errorf("the stopping interval missed the mean in %.4f of %d trials", rate, trials)
	}
}
