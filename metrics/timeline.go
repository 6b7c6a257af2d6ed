// A timeline describes a rollout step the way the trainer lives it:
// when each sample finished, how long the step waited for its stragglers,
// and how fast the engine worked while it did.

package metrics

import (
	"fmt"
	"slices"
)

// FinishSample is one sample's outcome. Times are seconds after the step began.
type FinishSample struct {
	// FirstTokenS is when its first output token was produced.
	FirstTokenS  float64 `json:"first_token_s"`
	FinishS      float64 `json:"finish_s"`
	OutputTokens int     `json:"output_tokens"`
	FinishReason string  `json:"finish_reason"`
	Preemptions  int     `json:"preemptions,omitempty"`
}

// TimelinePoint is the number of samples not yet finished from TS on.
type TimelinePoint struct {
	TS      float64 `json:"t_s"`
	Running int     `json:"running"`
}

// FinishPercentiles holds the times by which a share of the samples had
// finished, as nearest-rank percentiles (Method).
type FinishPercentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	// Method is always NearestRank: a finish time someone observed.
	Method PercentileMethod `json:"percentile_method"`
}

// Timeline is a step's samples and the figures derived from them.
type Timeline struct {
	// MakespanS is the step time: from submission until the caller had the
	// last sample, on the caller's clock.
	MakespanS float64 `json:"makespan_s"`
	// DoneS are nearest-rank percentiles of the finish times: P90 is the
	// finish time of the ceil(0.9 N)-th sample to finish.
	DoneS FinishPercentiles `json:"done_s"`
	// TailShare is the part of the makespan after 90% of the samples were
	// done: (makespan - p90) / makespan.
	TailShare float64 `json:"tail_share"`
	// TailOutputTokS and PreTailOutputTokS are output tokens per second
	// after and before DoneS.P90. The engine reports when a sample's first
	// and last tokens were produced, not the ones between, so each sample's
	// tokens are taken as spread evenly over that span.
	TailOutputTokS    float64 `json:"tail_output_tok_s"`
	PreTailOutputTokS float64 `json:"pre_tail_output_tok_s"`
	// Samples are in submission order.
	Samples []FinishSample `json:"samples"`
	// Running steps down at every finish time, from N at 0.
	Running []TimelinePoint `json:"running"`
	// FinishTimes says where the finish times come from and how precise they
	// are.
	FinishTimes string `json:"finish_times"`
	// Caveats name the figures too few samples make degenerate.
	Caveats []string `json:"caveats,omitempty"`
}

// NewTimeline derives the timeline of samples (in submission order) from a step
// that took makespan seconds. Finish times past the makespan are an error:
// they would mean the two clocks disagree.
func NewTimeline(samples []FinishSample, makespan float64, source string) (Timeline, error) {
	t := Timeline{MakespanS: makespan, Samples: samples, FinishTimes: source, Caveats: caveats(len(samples))}
	if len(samples) == 0 {
		return t, fmt.Errorf("timeline: no samples")
	}
	if !(makespan > 0) {
		return t, fmt.Errorf("timeline: makespan %g s is not positive", makespan)
	}
	finish := make([]float64, len(samples))
	for i, s := range samples {
		if s.FinishS < 0 || s.FinishS > makespan || s.FirstTokenS > s.FinishS {
			return t, fmt.Errorf("timeline: sample %d has first token at %g s and finish at %g s, outside the makespan of %g s", i, s.FirstTokenS, s.FinishS, makespan)
		}
		finish[i] = s.FinishS
	}
	slices.Sort(finish)
	rank := func(p float64) float64 { return Percentile(finish, p, NearestRank) }
	t.DoneS = FinishPercentiles{P50: rank(50), P90: rank(90), P99: rank(99), Method: NearestRank}
	t.TailShare = (makespan - t.DoneS.P90) / makespan
	var tail, total float64
	for _, s := range samples {
		total += float64(s.OutputTokens)
		tail += tokensAfter(s, t.DoneS.P90)
	}
	if d := makespan - t.DoneS.P90; d > 0 {
		t.TailOutputTokS = tail / d
	}
	if t.DoneS.P90 > 0 {
		t.PreTailOutputTokS = (total - tail) / t.DoneS.P90
	}
	t.Running = running(finish)
	return t, nil
}

// tokensAfter is the share of s's tokens produced after time at, with its
// tokens spread evenly between its first and last token.
func tokensAfter(s FinishSample, at float64) float64 {
	n := float64(s.OutputTokens)
	switch {
	case s.FinishS <= at:
		return 0
	case s.FirstTokenS >= at:
		return n
	}
	return n * (s.FinishS - at) / (s.FinishS - s.FirstTokenS)
}

func running(sorted []float64) []TimelinePoint {
	points := []TimelinePoint{{TS: 0, Running: len(sorted)}}
	for i, f := range sorted {
		left := len(sorted) - i - 1
		if last := &points[len(points)-1]; last.TS == f {
			last.Running = left
			continue
		}
		points = append(points, TimelinePoint{TS: f, Running: left})
	}
	return points
}

// caveats say which figures a small step makes degenerate: with nearest
// ranks, p90 is the last finish time below 10 samples, p99 below 100.
func caveats(n int) []string {
	switch {
	case n < 10:
		return []string{fmt.Sprintf("with %d samples, done_s.p90 and p99 are the last sample's finish time, so tail_share is the time after it, not a tail; use 10 or more", n)}
	case n < 100:
		return []string{fmt.Sprintf("with %d samples, done_s.p99 is the last sample's finish time", n)}
	}
	return nil
}
