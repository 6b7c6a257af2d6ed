package result

import (
	"github.com/rollbench/rollbench/metrics"
)

// Repetition is one measured pass's headline figures.
type Repetition struct {
	GenerateS             float64 `json:"generate_s"`
	OutputTokensPerSecond float64 `json:"output_tokens_per_second"`
	TotalTokensPerSecond  float64 `json:"total_tokens_per_second"`
	// MakespanS is the time until the pass's last sample finished, where
	// the pass recorded a timeline.
	MakespanS *float64 `json:"makespan_s,omitempty"`
	// LoadS is the engine load before this pass, with a fresh engine per
	// repetition.
	LoadS float64 `json:"load_s,omitempty"`
	// StartS is when a paired experiment's pass began, in seconds from the
	// start of its first round: the passes of all arms, in time order.
	StartS *float64 `json:"start_s,omitempty"`
	// Imbalance is a data-parallel pass's slowest replica makespan over
	// the mean replica's.
	Imbalance *float64 `json:"imbalance,omitempty"`
}

// Confidence holds the estimate of each headline figure over the
// repetitions; Makespan only when every repetition has one.
type Confidence struct {
	GenerateS             metrics.Estimate  `json:"generate_s"`
	OutputTokensPerSecond metrics.Estimate  `json:"output_tokens_per_second"`
	TotalTokensPerSecond  metrics.Estimate  `json:"total_tokens_per_second"`
	MakespanS             *metrics.Estimate `json:"makespan_s,omitempty"`
}

// AddRepetition records a measured pass.
func (r *Offline) AddRepetition(rep Repetition) {
	r.Repetitions = append(r.Repetitions, rep)
}

// CloseRepetitions estimates every headline figure from the repetitions
// and adds pyperf's stability warnings to the result's warnings. It does
// nothing for fewer than two repetitions, whose figures are the result's
// own.
func (r *Offline) CloseRepetitions() {
	if len(r.Repetitions) < 2 {
		return
	}
	var gen, out, total, makespan []float64
	for _, rep := range r.Repetitions {
		gen = append(gen, rep.GenerateS)
		out = append(out, rep.OutputTokensPerSecond)
		total = append(total, rep.TotalTokensPerSecond)
		if rep.MakespanS != nil {
			makespan = append(makespan, *rep.MakespanS)
		}
	}
	c := &Confidence{
		GenerateS:             metrics.NewEstimate(gen),
		OutputTokensPerSecond: metrics.NewEstimate(out),
		TotalTokensPerSecond:  metrics.NewEstimate(total),
	}
	figures := []struct {
		name string
		xs   []float64
	}{{"generate_s", gen}, {"output_tokens_per_second", out}, {"total_tokens_per_second", total}}
	if len(makespan) == len(r.Repetitions) {
		m := metrics.NewEstimate(makespan)
		c.MakespanS = &m
		figures = append(figures, struct {
			name string
			xs   []float64
		}{"makespan_s", makespan})
	}
	for _, f := range figures {
		r.Warnings = append(r.Warnings, metrics.StabilityWarnings(f.name, f.xs)...)
	}
	r.Confidence = c
}

// OutputEstimate is the mean output rate over the repetitions with its
// interval at level 1 - alpha: what --repeat auto's rule looks at.
func (r *Offline) OutputEstimate(alpha float64) metrics.Estimate {
	return metrics.NewEstimateAt(r.outputRates(), alpha)
}
