package metrics

import (
	"encoding/binary"
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// verlCase is a file written by scripts/mismatch-testdata.py: sequences and
// the figures verl's formulas give for them.
type verlCase struct {
	Name      string            `json:"name"`
	Threshold float64           `json:"threshold"`
	Sequences []ScoredSequence  `json:"sequences"`
	Want      map[string]Figure `json:"want"`
}

func readVerlCases(tb testing.TB) []verlCase {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "mismatch", "*.json"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no cases in testdata/mismatch (%v): run scripts/mismatch-testdata.py", err)
	}
	var cases []verlCase
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		var c verlCase
		if err := json.Unmarshal(b, &c); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		cases = append(cases, c)
	}
	return cases
}

// figuresOf is m's figures by their JSON (verl's) names, read back from
// the JSON a result would carry.
func figuresOf(tb testing.TB, m Mismatch) map[string]Figure {
	tb.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		tb.Fatal(err)
	}
	figs := map[string]Figure{}
	for name, raw := range fields {
		if name == "method" || name == "rollout_is_threshold" {
			continue
		}
		var f Figure
		if err := json.Unmarshal(raw, &f); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		figs[name] = f
	}
	return figs
}

// relEqual is equality to 1e-9 relative, for figures summed in another
// order than torch's; NaN equals NaN, and infinities and zeros must match
// exactly. The closest call is verl's rollout_is_std on the "small" case
// (1e-10 here): E[w^2] - E[w]^2 with weights within 0.3% of 1 cancels all
// but the last six digits.
func relEqual(got, want float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) || want == 0 {
		return got == want || math.IsNaN(got) && math.IsNaN(want)
	}
	return math.Abs(got-want) <= 1e-9*math.Abs(want)
}

func TestMismatchMatchesVerl(t *testing.T) {
	for _, c := range readVerlCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			m, err := NewMismatch(c.Sequences, c.Threshold)
			if err != nil {
				t.Fatal(err)
			}
			got := figuresOf(t, m)
			for _, name := range slices.Sorted(maps.Keys(got)) {
				if _, ok := c.Want[name]; !ok {
					t.Errorf("%s: not in the case's figures", name)
				}
			}
			for name, w := range c.Want {
				g, ok := got[name]
				switch {
				case !ok:
					t.Errorf("%s: missing", name)
				case !relEqual(g.Value, w.Value):
					t.Errorf("%s = %v, want %v (verl)", name, g.Value, w.Value)
				case g.Count != w.Count || g.Over != w.Over:
					t.Errorf("%s over %d %s, want %d %s", name, g.Count, g.Over, w.Count, w.Over)
				}
			}
			if m.Threshold != c.Threshold || m.Method != MismatchMethod {
				t.Errorf("threshold %v, method %q", m.Threshold, m.Method)
			}
		})
	}
}

// TestMismatchByHand checks the formulas on two tokens whose probabilities
// swap (1/2 and 1/4), where every figure is a small fraction by hand.
func TestMismatchByHand(t *testing.T) {
	half, quarter := math.Log(0.5), math.Log(0.25)
	m, err := NewMismatch([]ScoredSequence{{
		RolloutLogProbs:   []float64{half, quarter},
		ReferenceLogProbs: []float64{quarter, half},
	}}, 1.5)
	if err != nil {
		t.Fatal(err)
	}
	// Log-ratios r = -ln 2, +ln 2; weights rho = 1/2, 2 (truncated: 1/2, 3/2).
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"probs diff max", m.ProbsDiffMax.Value, 0.25},
		{"probs diff mean", m.ProbsDiffMean.Value, 0.25},
		{"probs diff std", m.ProbsDiffStd.Value, 0},
		{"pearson", m.ProbsPearson.Value, -1},
		{"kl", m.KL.Value, 0},
		// (1/2 + ln 2 - 1 + 2 - ln 2 - 1) / 2
		{"k3_kl", m.K3KL.Value, 0.25},
		{"training_ppl", m.TrainingPPL.Value, math.Sqrt(8)},
		{"rollout_ppl", m.RolloutPPL.Value, math.Sqrt(8)},
		{"log_ppl_diff", m.LogPPLDiff.Value, 0},
		{"ppl_ratio", m.PPLRatio.Value, 1},
		// (1/4 + 4) / 2 - 1
		{"chi2_token", m.Chi2Token.Value, 1.125},
		{"chi2_seq", m.Chi2Seq.Value, 0},
		{"is mean", m.ISMean.Value, 1},
		{"is std", m.ISStd.Value, 0.5},
		{"is min", m.ISMin.Value, 0.5},
		{"is max", m.ISMax.Value, 1.5},
		// 1 / mean((w / (1 + 1e-8))^2) with mean(w^2) = 5/4
		{"is ess", m.ISESS.Value, 0.8 * (1 + 1e-8) * (1 + 1e-8)},
		// 2 > 1.5, and 1/2 < 1/1.5
		{"is fraction high", m.ISFractionHigh.Value, 0.5},
		{"is fraction low", m.ISFractionLow.Value, 0.5},
	} {
		if math.Abs(tc.got-tc.want) > 1e-12 {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if m.KL.Count != 2 || m.KL.Over != OverTokens || m.Chi2Seq.Count != 1 || m.Chi2Seq.Over != OverSequences {
		t.Errorf("counts: kl over %d %s, chi2_seq over %d %s", m.KL.Count, m.KL.Over, m.Chi2Seq.Count, m.Chi2Seq.Over)
	}
}

func TestNewMismatchRefuses(t *testing.T) {
	ok := ScoredSequence{RolloutLogProbs: []float64{-0.5, -1}, ReferenceLogProbs: []float64{-0.4, -1.2}}
	for _, tc := range []struct {
		name      string
		seqs      []ScoredSequence
		threshold float64
		want      string
	}{
		{"no sequences", nil, 2, "no scored sequences"},
		{"lengths differ", []ScoredSequence{ok, {RolloutLogProbs: []float64{-1, -2}, ReferenceLogProbs: []float64{-1}}}, 2,
			"sequence 1: 2 rollout log-probs but 1 reference log-probs"},
		{"empty sequence", []ScoredSequence{ok, {}}, 2, "sequence 1 has no response tokens"},
		{"nan", []ScoredSequence{{RolloutLogProbs: []float64{math.NaN()}, ReferenceLogProbs: []float64{-1}}}, 2,
			"sequence 0 token 0: rollout log-prob NaN"},
		{"positive", []ScoredSequence{{RolloutLogProbs: []float64{-1, -1}, ReferenceLogProbs: []float64{-1, 0.25}}}, 2,
			"sequence 0 token 1: reference log-prob 0.25"},
		{"-inf", []ScoredSequence{{RolloutLogProbs: []float64{math.Inf(-1)}, ReferenceLogProbs: []float64{-1}}}, 2,
			"rollout log-prob -Inf"},
		{"zero threshold", []ScoredSequence{ok}, 0, "threshold 0: must be positive"},
		{"nan threshold", []ScoredSequence{ok}, math.NaN(), "threshold NaN"},
		{"inf threshold", []ScoredSequence{ok}, math.Inf(1), "threshold +Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMismatch(tc.seqs, tc.threshold)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFigureJSON(t *testing.T) {
	for _, tc := range []struct {
		f    Figure
		json string
	}{
		{Figure{0.125, 3, OverTokens}, `{"value":0.125,"count":3,"over":"tokens"}`},
		{Figure{1e-300, 1, OverSequences}, `{"value":1e-300,"count":1,"over":"sequences"}`},
		{Figure{math.NaN(), 1, OverTokens}, `{"value":"NaN","count":1,"over":"tokens"}`},
		{Figure{math.Inf(1), 2, OverSequences}, `{"value":"+Inf","count":2,"over":"sequences"}`},
	} {
		b, err := json.Marshal(tc.f)
		if err != nil || string(b) != tc.json {
			t.Errorf("marshal %v = %s, %v; want %s", tc.f, b, err, tc.json)
			continue
		}
		var back Figure
		if err := json.Unmarshal(b, &back); err != nil || !relEqual(back.Value, tc.f.Value) || back.Count != tc.f.Count || back.Over != tc.f.Over {
			t.Errorf("round trip of %s = %v, %v", b, back, err)
		}
	}
	for _, bad := range []string{`{"value":"1.5"}`, `{"value":"lots"}`, `{"value":true}`, `[]`} {
		var f Figure
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// fuzzEncode lays seqs out as FuzzNewMismatch reads them: a length byte
// per sequence, and the values as little-endian float64 bits, each token's
// rollout then reference log-prob.
func fuzzEncode(seqs []ScoredSequence) (lengths, values []byte) {
	for _, s := range seqs {
		lengths = append(lengths, byte(len(s.RolloutLogProbs)))
		for i := range s.RolloutLogProbs {
			values = binary.LittleEndian.AppendUint64(values, math.Float64bits(s.RolloutLogProbs[i]))
			values = binary.LittleEndian.AppendUint64(values, math.Float64bits(s.ReferenceLogProbs[i]))
		}
	}
	return lengths, values
}

// FuzzNewMismatch checks that NewMismatch never panics, and that what it
// returns is what Mismatch documents: NaN only where the figure is
// undefined, +Inf only where verl does not clamp an exponential, and JSON
// that round-trips.
func FuzzNewMismatch(f *testing.F) {
	for _, c := range readVerlCases(f) {
		l, v := fuzzEncode(c.Sequences)
		f.Add(l, v, c.Threshold)
	}
	f.Fuzz(func(t *testing.T, lengths, values []byte, threshold float64) {
		var seqs []ScoredSequence
		for _, l := range lengths {
			var s ScoredSequence
			for range int(l % 64) {
				if len(values) < 16 {
					break
				}
				s.RolloutLogProbs = append(s.RolloutLogProbs, math.Float64frombits(binary.LittleEndian.Uint64(values)))
				s.ReferenceLogProbs = append(s.ReferenceLogProbs, math.Float64frombits(binary.LittleEndian.Uint64(values[8:])))
				values = values[16:]
			}
			seqs = append(seqs, s)
		}
		m, err := NewMismatch(seqs, threshold)
		if err != nil {
			return
		}
		tokens := 0
		for _, s := range seqs {
			tokens += len(s.RolloutLogProbs)
		}
		mayInf := map[string]bool{"k3_kl": true, "training_ppl": true, "rollout_ppl": true, "ppl_ratio": true}
		for name, fig := range figuresOf(t, m) {
			v := fig.Value
			switch {
			case fig.Over == OverTokens && fig.Count != tokens, fig.Over == OverSequences && fig.Count != len(seqs):
				t.Errorf("%s over %d %s: %d tokens in %d sequences", name, fig.Count, fig.Over, tokens, len(seqs))
			case math.IsNaN(v):
				if name != "rollout_actor_probs_pearson_corr" && (name != "rollout_probs_diff_std" || tokens != 1) {
					t.Errorf("%s is NaN over %d tokens", name, tokens)
				}
			case math.IsInf(v, 0) && !(mayInf[name] && v > 0):
				t.Errorf("%s = %v", name, v)
			}
		}
		for _, fig := range []Figure{m.ProbsDiffMax, m.ProbsDiffMean, m.ISFractionHigh, m.ISFractionLow} {
			if !(fig.Value >= 0 && fig.Value <= 1) {
				t.Errorf("%v: not in [0, 1]", fig)
			}
		}
		if p := m.ProbsPearson.Value; p < -1 || p > 1 {
			t.Errorf("pearson %v", p)
		}
		if !(m.ISMin.Value > 0 && m.ISMax.Value <= threshold && m.ISMin.Value <= m.ISMax.Value) {
			t.Errorf("importance weights in [%v, %v], threshold %v", m.ISMin.Value, m.ISMax.Value, threshold)
		}
	})
}
