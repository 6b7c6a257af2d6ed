// Package metrics turns what the engine or an online server returned into
// counts, rates and statistics, and says where they differ from what was
// asked: token accounting, the timeline of a rollout step, the latency
// metrics of an online run, and the confidence of repeated measurements. It
// needs no interpreter.
package metrics

import (
	"fmt"
	"time"
)

// Tokens counts a generation from the engine's own outputs.
type Tokens struct {
	// Prompts is the number of request outputs (one per prompt).
	Prompts int `json:"prompts"`
	// Sequences is the number of completions over all prompts.
	Sequences int `json:"sequences"`
	// PromptTokens counts each prompt once, however many samples it has.
	PromptTokens int `json:"prompt_tokens"`
	// OutputTokens counts every token of every completion.
	OutputTokens  int            `json:"output_tokens"`
	FinishReasons map[string]int `json:"finish_reasons"`
	// OutputLen describes the completions' lengths in tokens, with the
	// sample standard deviation (no vllm key to match).
	OutputLen Summary `json:"output_len"`
}

// Count tallies the requests of one generate call.
func Count(reqs []Request) Tokens {
	t := Tokens{Prompts: len(reqs), FinishReasons: map[string]int{}}
	var lens []float64
	for _, r := range reqs {
		t.PromptTokens += r.PromptTokens
		for _, c := range r.Completions {
			t.Sequences++
			t.OutputTokens += c.OutputTokens
			reason := c.FinishReason
			if reason == "" {
				reason = "unfinished"
			}
			t.FinishReasons[reason]++
			lens = append(lens, float64(c.OutputTokens))
		}
	}
	t.OutputLen = Summarize(lens, Sample)
	return t
}

// Expected is what a generation was asked to produce.
type Expected struct {
	Prompts, N, InputLen, OutputLen int
	// PromptTokens, when set, is the exact total of prompt tokens, for
	// prompts of different lengths; else every prompt has InputLen.
	PromptTokens int
	// ExactOutput is true when every completion must reach OutputLen
	// (ignore_eos), so that a shorter one is an anomaly.
	ExactOutput bool
}

// Check compares counts with what was asked. Each difference is a warning
// for the result, never a silent correction.
func (t Tokens) Check(want Expected) []string {
	var warns []string
	if t.Prompts != want.Prompts {
		warns = append(warns, fmt.Sprintf("engine returned %d request outputs for %d prompts", t.Prompts, want.Prompts))
	}
	if seqs := want.Prompts * want.N; t.Sequences != seqs {
		warns = append(warns, fmt.Sprintf("engine returned %d sequences, want %d prompts x n=%d = %d", t.Sequences, want.Prompts, want.N, seqs))
	}
	switch p := t.Prompts * want.InputLen; {
	case want.PromptTokens > 0 && t.PromptTokens != want.PromptTokens:
		warns = append(warns, fmt.Sprintf("engine saw %d prompt tokens, want the %d of the dataset's prompts", t.PromptTokens, want.PromptTokens))
	case want.PromptTokens == 0 && t.PromptTokens != p:
		warns = append(warns, fmt.Sprintf("engine saw %d prompt tokens, want %d prompts x %d = %d", t.PromptTokens, t.Prompts, want.InputLen, p))
	}
	if want.ExactOutput {
		if o := t.Sequences * want.OutputLen; t.OutputTokens != o {
			warns = append(warns, fmt.Sprintf("engine returned %d output tokens, want %d sequences x %d = %d with ignore_eos (lengths %g..%g)",
				t.OutputTokens, t.Sequences, want.OutputLen, o, t.OutputLen.Min, t.OutputLen.Max))
		}
	}
	return warns
}

// Throughput is the rate of one generation over its elapsed time.
type Throughput struct {
	OutputTokensPerSecond float64 `json:"output_tokens_per_second"`
	// TotalTokensPerSecond counts prompt tokens once per prompt, as vLLM's
	// benchmarks do.
	TotalTokensPerSecond float64 `json:"total_tokens_per_second"`
	// RequestsPerSecond counts prompts; SequencesPerSecond counts samples.
	RequestsPerSecond  float64 `json:"requests_per_second"`
	SequencesPerSecond float64 `json:"sequences_per_second"`
}

// Rates divides counts by the elapsed time; zero time gives zero rates.
func (t Tokens) Rates(elapsed time.Duration) Throughput {
	s := elapsed.Seconds()
	if s <= 0 {
		return Throughput{}
	}
	return Throughput{
		OutputTokensPerSecond: float64(t.OutputTokens) / s,
		TotalTokensPerSecond:  float64(t.PromptTokens+t.OutputTokens) / s,
		RequestsPerSecond:     float64(t.Prompts) / s,
		SequencesPerSecond:    float64(t.Sequences) / s,
	}
}
