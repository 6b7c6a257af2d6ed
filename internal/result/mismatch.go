package result

import (
	"fmt"
	"slices"

	"github.com/rollbench/rollbench/internal/sys"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload"
)

// ReferenceKind is what computes the trainer's view of the samples.
type ReferenceKind string

const (
	// ReferenceHF is a Hugging Face transformers forward in BF16, as verl's
	// FSDP actor computes old_log_probs.
	ReferenceHF ReferenceKind = "hf"
	// ReferenceVLLM is a BF16 vLLM engine's prompt_logprobs.
	ReferenceVLLM ReferenceKind = "vllm"
)

// ParseReferenceKind reads --reference.
func ParseReferenceKind(s string) (ReferenceKind, error) {
	switch k := ReferenceKind(s); k {
	case ReferenceHF, ReferenceVLLM:
		return k, nil
	}
	return "", fmt.Errorf("unknown reference %q; supported: hf, vllm", s)
}

// Reference is how the samples were scored as the trainer sees them, and,
// before a run, how they are to be.
type Reference struct {
	Kind ReferenceKind `json:"kind"`
	// Model is the BF16 checkpoint's directory.
	Model string `json:"model"`
	// Device is torch's device type the reference ran on: cpu, cuda, npu;
	// empty before a run means the rollout's.
	Device string `json:"device,omitempty"`
	// TokenBudget bounds the padded tokens of one forward (hf).
	TokenBudget int `json:"token_budget,omitempty"`
	// EngineKwargs are the reference engine's LLM(...) arguments (vllm).
	EngineKwargs map[string]any `json:"engine_kwargs,omitempty"`
	// Note says what the reference computes and how it differs from the
	// trainer's, filled when it ran.
	Note string `json:"note,omitempty"`
}

// ModelShape tells one model from another apart from the precision of its
// weights: a checkpoint and its quantized variants share it, a reference
// of another model does not.
type ModelShape struct {
	Architectures []string `json:"architectures"`
	HiddenSize    int      `json:"hidden_size"`
	Layers        int      `json:"num_hidden_layers"`
	VocabSize     int      `json:"vocab_size"`
}

// Differs says how other is another model than s, or "" when it is not.
func (s ModelShape) Differs(other ModelShape) string {
	switch {
	case !slices.Equal(s.Architectures, other.Architectures):
		return fmt.Sprintf("architecture %v, not %v", other.Architectures, s.Architectures)
	case s.HiddenSize != other.HiddenSize || s.Layers != other.Layers:
		return fmt.Sprintf("%d layers of width %d, not %d of %d", other.Layers, other.HiddenSize, s.Layers, s.HiddenSize)
	case s.VocabSize != other.VocabSize:
		return fmt.Sprintf("an embedding of %d ids, not %d", other.VocabSize, s.VocabSize)
	}
	return ""
}

// Mismatch is an experiment's scored pass and its mismatch against the
// BF16 policy: what quantization costs, beside what the measured passes say
// it buys.
type Mismatch struct {
	// Samples is the samples file's name, beside the result.
	Samples string `json:"samples"`
	// Prompts is how many of the step's prompts (the first) the scored
	// pass sampled, each with all of its n samples.
	Prompts int `json:"prompts"`
	// Sampling is the scored pass's SamplingParams: the measured pass's
	// with logprobs=0.
	Sampling workload.Sampling `json:"sampling_params"`
	// RolloutLogprobs says which log-probs the engine returned.
	RolloutLogprobs string    `json:"rollout_logprobs"`
	Reference       Reference `json:"reference"`
	// Metrics are verl's figures, with their threshold and method.
	Metrics *metrics.Mismatch `json:"metrics,omitempty"`
	// Skipped counts the samples left out of Metrics: responses without
	// a token, over which no figure is defined.
	Skipped int             `json:"skipped_empty_responses,omitempty"`
	Timings MismatchTimings `json:"timings"`
	// Error is why the mismatch is missing or partial; the measured
	// figures stand regardless.
	Error string `json:"error,omitempty"`
}

// MismatchTimings are the parts of scoring, none of them in the measured
// figures.
type MismatchTimings struct {
	// ScoredWarmup is a one-prompt generate with log-probs before the
	// scored pass: vLLM compiles its log-prob ranking on first use
	// (vllm/v1/sample/ops/logprobs.py, batched_count_greater_than).
	ScoredWarmup float64 `json:"scored_warmup_s"`
	// ScoredPass is the scored LLM.generate, and WriteSamples writing
	// its samples file.
	ScoredPass   float64 `json:"scored_pass_s"`
	WriteSamples float64 `json:"write_samples_s"`
	// ReferenceLoad and ReferenceScore are the reference's load and its
	// scoring of every sample.
	ReferenceLoad  float64 `json:"reference_load_s"`
	ReferenceScore float64 `json:"reference_score_s"`
}

// Cost is the scored pass and the reference's scoring together: what
// --mismatch adds to a run beyond loading the reference.
func (t MismatchTimings) Cost() float64 { return t.ScoredPass + t.ReferenceScore }

// ScoreExt ends the name of the file `score` writes beside a samples file
// by default: NAME.samples.jsonl.gz is scored into NAME.score.json.
const ScoreExt = ".score.json"

// ScoreSchema names the layout of a `score` result.
const ScoreSchema = "rollbench.score/1"

// Score is what `rollbench-inproc score` made of a samples file.
type Score struct {
	Header
	// SamplesPath is the file scored, and SamplesHeader its first line.
	SamplesPath   string          `json:"samples_path"`
	SamplesHeader SamplesHeader   `json:"samples_header"`
	Mismatch      Mismatch        `json:"mismatch"`
	Environment   sys.Environment `json:"environment"`
}
