// The rollout-vs-trainer mismatch: how far the policy that sampled a batch
// (the rollout engine, perhaps quantized) is from the policy the trainer
// updates (BF16), read off the log-probs both gave the sampled tokens. The
// figures are verl's, by verl's formulas, so that a number here means what
// the same name means on a verl dashboard.
//
// Source: verl-project/verl at commit 1dda039b9c6311889a9c9a26040677e1254814f9
// (2026-08-22), functions cited next to each formula:
//   - verl/utils/debug/metrics.py: calculate_debug_metrics,
//     pearson_correlation_coefficient, calculate_log_prob_diff
//     (logged as training/...);
//   - verl/trainer/ppo/rollout_corr_helper.py: compute_offpolicy_metrics,
//     compute_rollout_correction_weights, compute_is_metrics (logged as
//     rollout_corr/...), with rollout_is: token and a single threshold
//     (truncated importance sampling, verl's default configuration);
//   - verl/utils/torch_functional.py: masked_sum, masked_mean.
//
// Where verl's arithmetic differs from the formula written out, the code
// follows what verl's tensors compute:
//   - masked_mean divides by mask.sum() + 1e-8. verl's masks are integer
//     tensors, so that sum is promoted to float32, in which n + 1e-8 rounds
//     to n for every n >= 1: the means here divide by n. (The epsilon only
//     guards an empty mask, which NewMismatch refuses.)
//   - verl computes in float32; the figures here are float64. Where verl
//     does not clamp (k3_kl, the perplexities, ppl_ratio) an exponential
//     overflows in both, to +Inf: here beyond exp(709.78), in float32 already
//     beyond exp(88.72).

package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// VerlSource names the verl source whose formulas Mismatch follows.
const VerlSource = "verl-project/verl@1dda039b9c6311889a9c9a26040677e1254814f9"

// MismatchMethod describes how Mismatch's figures are computed, for the
// result that carries them.
const MismatchMethod = "verl's formulas (" + VerlSource + "): " +
	"verl/utils/debug/metrics.py calculate_debug_metrics for rollout_probs_diff_* and rollout_actor_probs_pearson_corr; " +
	"verl/trainer/ppo/rollout_corr_helper.py compute_offpolicy_metrics for kl, k3_kl, *_ppl, log_ppl_*, ppl_ratio, chi2_*, " +
	"and compute_rollout_correction_weights + compute_is_metrics (rollout_is=token, truncated at rollout_is_threshold) for rollout_is_*; " +
	"over every response token of every sequence, in float64"

// verlSafetyBound is SAFETY_BOUND in verl/trainer/ppo/rollout_corr_helper.py:
// the clamp on log-ratios before they are exponentiated for importance
// weights and chi-squared.
const verlSafetyBound = 20.0

// DefaultISThreshold is verl's default algorithm.rollout_correction.
// rollout_is_threshold (compute_rollout_correction_and_add_to_batch).
const DefaultISThreshold = 2.0

// ScoredSequence is one sampled response as both policies scored it: for
// each response token, in order, the log-prob the rollout engine gave it
// when sampling and the log-prob the reference (the trainer's policy) gives
// it. verl calls them rollout_log_probs and old_log_probs.
type ScoredSequence struct {
	RolloutLogProbs   []float64 `json:"rollout_logprobs"`
	ReferenceLogProbs []float64 `json:"reference_logprobs"`
}

// Over names what a Figure's Count counts.
type Over string

const (
	OverTokens    Over = "tokens"
	OverSequences Over = "sequences"
)

// Figure is one mismatch figure with the number of tokens or sequences it
// was computed over. Value is NaN where verl's figure is undefined (see
// Mismatch); JSON writes a value that is not finite as a string ("NaN",
// "+Inf"), which encoding/json cannot write as a number.
type Figure struct {
	Value float64 `json:"value"`
	Count int     `json:"count"`
	Over  Over    `json:"over"`
}

type figureJSON struct {
	Value json.RawMessage `json:"value"`
	Count int             `json:"count"`
	Over  Over            `json:"over"`
}

func (f Figure) MarshalJSON() ([]byte, error) {
	v := strconv.AppendFloat(nil, f.Value, 'g', -1, 64)
	if math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
		v = strconv.AppendQuote(nil, string(v))
	}
	return json.Marshal(figureJSON{Value: v, Count: f.Count, Over: f.Over})
}

func (f *Figure) UnmarshalJSON(b []byte) error {
	var j figureJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var s string
	if json.Unmarshal(j.Value, &s) == nil {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(math.IsNaN(v) || math.IsInf(v, 0)) {
			return fmt.Errorf("figure value %q: want a number, \"NaN\", \"+Inf\" or \"-Inf\"", s)
		}
		*f = Figure{Value: v, Count: j.Count, Over: j.Over}
		return nil
	}
	if err := json.Unmarshal(j.Value, &f.Value); err != nil {
		return fmt.Errorf("figure value: %w", err)
	}
	f.Count, f.Over = j.Count, j.Over
	return nil
}

// Mismatch holds verl's rollout-vs-trainer figures for a batch, each under
// verl's metric name without its prefix (training/ for the first four,
// rollout_corr/ for the rest). Token figures pool every response token of
// the batch; sequence figures reduce (mean, max, min) one value per
// sequence.
//
// Undefined figures are NaN, as in verl: the standard deviation of the
// probabilities' difference over one token, and their Pearson correlation
// over one token or when either policy's probabilities have no variance.
// k3_kl, training_ppl, rollout_ppl and ppl_ratio are +Inf when an
// exponential overflows (verl does not clamp them); every other figure is
// finite.
type Mismatch struct {
	// |p_ref - p_roll| over tokens, p = exp(log-prob): max, mean, and the
	// sample standard deviation (n-1, torch.std's default).
	ProbsDiffMax  Figure `json:"rollout_probs_diff_max"`
	ProbsDiffMean Figure `json:"rollout_probs_diff_mean"`
	ProbsDiffStd  Figure `json:"rollout_probs_diff_std"`
	// ProbsPearson is the Pearson correlation of p_ref and p_roll over
	// tokens.
	ProbsPearson Figure `json:"rollout_actor_probs_pearson_corr"`

	// KL is the token mean of logp_roll - logp_ref, and K3KL that of
	// exp(r) - r - 1 with r = logp_ref - logp_roll: estimators of
	// KL(rollout || reference).
	KL   Figure `json:"kl"`
	K3KL Figure `json:"k3_kl"`
	// The perplexities are means over sequences of exp(-mean token log-prob)
	// (LogPPL: of -mean token log-prob).
	TrainingPPL    Figure `json:"training_ppl"`
	TrainingLogPPL Figure `json:"training_log_ppl"`
	RolloutPPL     Figure `json:"rollout_ppl"`
	RolloutLogPPL  Figure `json:"rollout_log_ppl"`
	// The log_ppl_diff figures are the mean, mean absolute value, max and
	// min over sequences of mean logp_roll - mean logp_ref; PPLRatio is the
	// mean over sequences of its exponential (training PPL over rollout PPL).
	LogPPLDiff    Figure `json:"log_ppl_diff"`
	LogPPLAbsDiff Figure `json:"log_ppl_abs_diff"`
	LogPPLDiffMax Figure `json:"log_ppl_diff_max"`
	LogPPLDiffMin Figure `json:"log_ppl_diff_min"`
	PPLRatio      Figure `json:"ppl_ratio"`
	// Chi2Token is E[rho^2] - 1 over tokens, rho = p_ref/p_roll; Chi2Seq is
	// E[(prod rho)^2] - 1 over sequences; both with log-ratios clamped to
	// +-20.
	Chi2Token Figure `json:"chi2_token"`
	Chi2Seq   Figure `json:"chi2_seq"`

	// The token-level importance weights rho (log-ratio clamped to +-20),
	// truncated at Threshold: their mean, population standard deviation,
	// min and max; the effective sample size as a share of the tokens
	// (1 / mean of squared weights normalized to mean 1); and the share of
	// untruncated weights above Threshold and below 1/Threshold.
	ISMean         Figure `json:"rollout_is_mean"`
	ISStd          Figure `json:"rollout_is_std"`
	ISMin          Figure `json:"rollout_is_min"`
	ISMax          Figure `json:"rollout_is_max"`
	ISESS          Figure `json:"rollout_is_eff_sample_size"`
	ISFractionHigh Figure `json:"rollout_is_ratio_fraction_high"`
	ISFractionLow  Figure `json:"rollout_is_ratio_fraction_low"`
	// Threshold is verl's rollout_is_threshold.
	Threshold float64 `json:"rollout_is_threshold"`

	Method string `json:"method"`
}

// NewMismatch computes the figures over seqs, with importance weights
// truncated at threshold (DefaultISThreshold is verl's). It refuses no
// sequences, a sequence without tokens or whose two log-prob lists differ
// in length, a log-prob that is not a finite number in [-MaxFloat32, 0]
// (engines score in float32 or narrower, and the bound keeps every sum
// finite), and a threshold that is not positive and finite.
func NewMismatch(seqs []ScoredSequence, threshold float64) (Mismatch, error) {
	if !(threshold > 0) || math.IsInf(threshold, 1) {
		return Mismatch{}, fmt.Errorf("metrics: importance-ratio threshold %v: must be positive and finite", threshold)
	}
	if len(seqs) == 0 {
		return Mismatch{}, fmt.Errorf("metrics: no scored sequences")
	}
	n := 0
	for i, s := range seqs {
		if len(s.RolloutLogProbs) != len(s.ReferenceLogProbs) {
			return Mismatch{}, fmt.Errorf("metrics: sequence %d: %d rollout log-probs but %d reference log-probs",
				i, len(s.RolloutLogProbs), len(s.ReferenceLogProbs))
		}
		if len(s.RolloutLogProbs) == 0 {
			return Mismatch{}, fmt.Errorf("metrics: sequence %d has no response tokens", i)
		}
		for j := range s.RolloutLogProbs {
			if err := checkLogProb("rollout", s.RolloutLogProbs[j]); err != nil {
				return Mismatch{}, fmt.Errorf("metrics: sequence %d token %d: %w", i, j, err)
			}
			if err := checkLogProb("reference", s.ReferenceLogProbs[j]); err != nil {
				return Mismatch{}, fmt.Errorf("metrics: sequence %d token %d: %w", i, j, err)
			}
		}
		n += len(s.RolloutLogProbs)
	}

	m := Mismatch{Threshold: threshold, Method: MismatchMethod}
	tok := func(v float64) Figure { return Figure{Value: v, Count: n, Over: OverTokens} }
	seq := func(v float64) Figure { return Figure{Value: v, Count: len(seqs), Over: OverSequences} }
	fn := float64(n)

	// verl/utils/debug/metrics.py calculate_debug_metrics: probabilities
	// exp(old_log_probs) and exp(rollout_log_probs) over the response mask.
	pRef, pRoll := make([]float64, 0, n), make([]float64, 0, n)
	for _, s := range seqs {
		for j := range s.RolloutLogProbs {
			pRef = append(pRef, math.Exp(s.ReferenceLogProbs[j]))
			pRoll = append(pRoll, math.Exp(s.RolloutLogProbs[j]))
		}
	}
	// calculate_log_prob_diff(actor_probs, rollout_probs): |p_ref - p_roll|;
	// then torch.max, torch.mean and torch.std (unbiased: NaN for one token).
	diffMax, diffSum := 0.0, 0.0
	for i := range pRef {
		d := math.Abs(pRef[i] - pRoll[i])
		diffMax = max(diffMax, d)
		diffSum += d
	}
	diffMean := diffSum / fn
	diffStd := math.NaN()
	if n > 1 {
		ss := 0.0
		for i := range pRef {
			d := math.Abs(pRef[i]-pRoll[i]) - diffMean
			ss += float64(d * d)
		}
		diffStd = math.Sqrt(ss / (fn - 1))
	}
	m.ProbsDiffMax, m.ProbsDiffMean, m.ProbsDiffStd = tok(diffMax), tok(diffMean), tok(diffStd)
	m.ProbsPearson = tok(pearson(pRef, pRoll))

	// verl/trainer/ppo/rollout_corr_helper.py compute_offpolicy_metrics.
	// Token sums over the batch (masked_mean over all tokens), r = log_ratio
	// = old_log_prob - rollout_log_prob.
	var klSum, k3Sum, rho2Sum float64
	// Per sequence: masked_mean(..., axis=-1) of each policy's log-probs,
	// and masked_sum of r (for chi2_seq).
	var trainPPL, trainLogPPL, rollPPL, rollLogPPL float64
	var lpdSum, lpdAbsSum, pplRatioSum, rho2SeqSum float64
	lpdMax, lpdMin := math.Inf(-1), math.Inf(1)
	for _, s := range seqs {
		var refSum, rollSum, rSum float64
		for j, roll := range s.RolloutLogProbs {
			ref := s.ReferenceLogProbs[j]
			r := ref - roll
			// kl: masked_mean(rollout_log_prob - old_log_prob).
			klSum += roll - ref
			// k3_kl: masked_mean(exp(log_ratio) - log_ratio - 1), unclamped.
			k3Sum += math.Exp(r) - r - 1
			// chi2_token: masked_mean(exp(clamp(log_ratio, +-SAFETY_BOUND))^2) - 1.
			rho := math.Exp(clampSafety(r))
			rho2Sum += float64(rho * rho)
			refSum += ref
			rollSum += roll
			rSum += r
		}
		k := float64(len(s.RolloutLogProbs))
		meanRef, meanRoll := refSum/k, rollSum/k
		// training_ppl / rollout_ppl: exp(-mean log-prob), averaged over
		// sequences (plain .mean()); *_log_ppl: the same without exp.
		trainPPL += math.Exp(-meanRef)
		trainLogPPL += -meanRef
		rollPPL += math.Exp(-meanRoll)
		rollLogPPL += -meanRoll
		// log_ppl_diff = mean_log_prob_rollout - mean_log_prob_training, and
		// ppl_ratio = exp(log_ppl_diff).mean(), unclamped.
		lpd := meanRoll - meanRef
		lpdSum += lpd
		lpdAbsSum += math.Abs(lpd)
		lpdMax, lpdMin = max(lpdMax, lpd), min(lpdMin, lpd)
		pplRatioSum += math.Exp(lpd)
		// chi2_seq: exp(2 * clamp(masked_sum(log_ratio), +-SAFETY_BOUND)),
		// .mean() over sequences, minus 1.
		rho2SeqSum += math.Exp(2 * clampSafety(rSum))
	}
	fs := float64(len(seqs))
	m.KL, m.K3KL = tok(klSum/fn), tok(k3Sum/fn)
	m.TrainingPPL, m.TrainingLogPPL = seq(trainPPL/fs), seq(trainLogPPL/fs)
	m.RolloutPPL, m.RolloutLogPPL = seq(rollPPL/fs), seq(rollLogPPL/fs)
	m.LogPPLDiff, m.LogPPLAbsDiff = seq(lpdSum/fs), seq(lpdAbsSum/fs)
	m.LogPPLDiffMax, m.LogPPLDiffMin = seq(lpdMax), seq(lpdMin)
	m.PPLRatio = seq(pplRatioSum / fs)
	m.Chi2Token = tok(rho2Sum/fn - 1)
	m.Chi2Seq = seq(rho2SeqSum/fs - 1)

	m.importanceWeights(seqs, n, threshold, tok)
	return m, nil
}

// importanceWeights sets the rollout_is_* figures:
// verl/trainer/ppo/rollout_corr_helper.py compute_rollout_correction_weights
// with rollout_is="token" and a float threshold (no IcePop, no batch
// normalization), and compute_is_metrics on its weights.
func (m *Mismatch) importanceWeights(seqs []ScoredSequence, n int, threshold float64, tok func(float64) Figure) {
	fn := float64(n)
	// compute_is_metrics: the lower threshold defaults to 1/threshold.
	lower := 1 / threshold
	var wSum, w2Sum float64
	var high, low int
	wMin, wMax := math.Inf(1), math.Inf(-1)
	weights := make([]float64, 0, n)
	for _, s := range seqs {
		for j, roll := range s.RolloutLogProbs {
			// raw_rollout_is_weights = exp(clamp(log_ratio, +-SAFETY_BOUND));
			// rollout_is_weights = raw.clamp(max=threshold) (TIS).
			raw := math.Exp(clampSafety(s.ReferenceLogProbs[j] - roll))
			w := min(raw, threshold)
			weights = append(weights, w)
			// ratio_fraction_high/low compare the raw weights:
			// masked_mean(raw > threshold), masked_mean(raw < lower).
			if raw > threshold {
				high++
			}
			if raw < lower {
				low++
			}
			wSum += w
			w2Sum += float64(w * w)
			wMin, wMax = min(wMin, w), max(wMax, w)
		}
	}
	// rollout_is_mean = masked_mean(rollout_is_weights); max and min over
	// the mask of the truncated weights.
	mean := wSum / fn
	m.ISMean, m.ISMin, m.ISMax = tok(mean), tok(wMin), tok(wMax)
	m.ISFractionHigh, m.ISFractionLow = tok(float64(high)/fn), tok(float64(low)/fn)
	// rollout_is_std: sqrt(clamp(masked_mean(w^2) - masked_mean(w)^2, min=0)),
	// 0 for a single token (mask_count > 1). verl clamps the weights to
	// [0, threshold] for std and ESS; truncated, they already lie in it.
	std := 0.0
	if n > 1 {
		std = math.Sqrt(math.Max(w2Sum/fn-float64(mean*mean), 0))
	}
	m.ISStd = tok(std)
	// rollout_is_eff_sample_size: 1 / masked_mean((w / (mean + 1e-8))^2).
	// The 1e-8 is added to a float value here, so unlike masked_mean's it
	// is kept.
	norm := mean + 1e-8
	sq := 0.0
	for _, w := range weights {
		x := w / norm
		sq += float64(x * x)
	}
	m.ISESS = tok(1 / (sq / fn))
}

// clampSafety is torch.clamp(x, min=-SAFETY_BOUND, max=SAFETY_BOUND).
func clampSafety(x float64) float64 { return min(max(x, -verlSafetyBound), verlSafetyBound) }

// pearson is verl/utils/debug/metrics.py pearson_correlation_coefficient:
// torch.corrcoef of the two rows, element [0][1]. corrcoef divides the
// covariance (n-1, cancelling) by each row's standard deviation in turn and
// clips to [-1, 1]. A row with no variance gives 0/0, NaN; so does one
// token (torch's cov divides by n-1 = 0). A row whose values are all equal
// is NaN here even where rounding in torch's mean would leave a meaningless
// residue. (A variance that underflows, probabilities below 1e-160 that
// differ, gives torch's and this answer: NaN or, clipped, +-1.)
func pearson(x, y []float64) float64 {
	n := len(x)
	if n < 2 || constant(x) || constant(y) {
		return math.NaN()
	}
	var sx, sy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	mx, my := sx/float64(n), sy/float64(n)
	var cxx, cyy, cxy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		cxx += float64(dx * dx)
		cyy += float64(dy * dy)
		cxy += float64(dx * dy)
	}
	df := float64(n - 1)
	cxx, cyy, cxy = cxx/df, cyy/df, cxy/df
	c := cxy / math.Sqrt(cxx) / math.Sqrt(cyy)
	if math.IsNaN(c) {
		return c
	}
	return min(max(c, -1), 1)
}

func checkLogProb(who string, v float64) error {
	if !(v <= 0 && v >= -math.MaxFloat32) {
		return fmt.Errorf("%s log-prob %v is not a log-probability in [-MaxFloat32, 0]", who, v)
	}
	return nil
}

func constant(xs []float64) bool {
	for _, x := range xs[1:] {
		if x != xs[0] {
			return false
		}
	}
	return true
}
