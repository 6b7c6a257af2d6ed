package result

import (
	"math"

	"github.com/rollbench/rollbench/metrics"
)

// PairedSchema names the layout of a paired result.
const PairedSchema = "rollbench.paired/1"

// Paired is the result of a paired experiment (--paired): engines of one
// model loaded side by side in one process, warmed up, then measured in
// rounds of one pass each on the same prompts, never two at once, in an
// order that alternates between rounds. Arms[0] is the baseline, the
// model's BF16.
type Paired struct {
	Header
	// Log is the engine log every arm's engine printed to, and LogTail its
	// last lines when the experiment failed in a matrix.
	Log     string   `json:"log,omitempty"`
	LogTail []string `json:"log_tail,omitempty"`
	// Arms are each engine's own record: its spec and engine arguments,
	// its load and warm-up, one repetition per round.
	Arms []Offline `json:"arms"`
	// Settle is what ran before each pass, so that no pass shares the
	// host with the engine that ran before it.
	Settle string `json:"settle"`
	// Rounds ran; Order is each round's order of arms, by label.
	Rounds int        `json:"rounds"`
	Order  [][]string `json:"order"`
	// Comparisons are every other arm's paired ratio over the baseline,
	// on output tokens per second, from the rounds.
	Comparisons []Comparison `json:"comparisons"`
	// Stop is why the rounds ended under --repeat auto.
	Stop *metrics.Stop `json:"stop,omitempty"`
}

// Comparison is one arm against the baseline, round by round.
type Comparison struct {
	// Arm and Baseline are the arms' labels (see Offline.Label).
	Arm      string `json:"arm"`
	Baseline string `json:"baseline"`
	// Metric names the figure compared, as the summaries name it.
	Metric string `json:"metric"`
	metrics.PairedRatio
}

// Label names an arm in a paired experiment and in the summaries: its
// quantization, and "bf16 (A/A)" for the BF16 configuration measured
// again as the floor.
func (r *Offline) Label() string { return ArmLabel(string(r.Spec.Engine.Quant), r.AA) }

// ArmLabel is the label of a configuration of quantization quant, measured
// as the A/A floor when aa is set.
func ArmLabel(quant string, aa bool) string {
	if aa {
		return quant + AASuffix
	}
	return quant
}

// AASuffix ends an A/A arm's label.
const AASuffix = " (A/A)"

// MetricOutput is the figure paired comparisons compare.
const MetricOutput = "output_tok_s"

// Compare computes every arm's paired ratio over Arms[0] from their
// repetitions, corrected for looks looks of a stopping rule (1: none).
// An arm with fewer than two rounds has none.
func (p *Paired) Compare(looks int) {
	p.Comparisons = nil
	if len(p.Arms) == 0 {
		return
	}
	base := p.Arms[0].outputRates()
	for i := 1; i < len(p.Arms); i++ {
		a := &p.Arms[i]
		if c, ok := metrics.Paired(a.outputRates(), base, looks); ok {
			p.Comparisons = append(p.Comparisons, Comparison{Arm: a.Label(), Baseline: p.Arms[0].Label(), Metric: MetricOutput, PairedRatio: c})
		}
	}
}

// WidestHalfWidth is the widest comparison's half width as a share of its
// ratio, NaN while there is no comparison for every other arm.
func (p *Paired) WidestHalfWidth() float64 {
	if len(p.Comparisons) < len(p.Arms)-1 || len(p.Comparisons) == 0 {
		return math.NaN()
	}
	w := 0.0
	for _, c := range p.Comparisons {
		w = max(w, c.HalfWidth())
	}
	return w
}

func (r *Offline) outputRates() []float64 {
	xs := make([]float64, len(r.Repetitions))
	for i, rep := range r.Repetitions {
		xs[i] = rep.OutputTokensPerSecond
	}
	return xs
}
