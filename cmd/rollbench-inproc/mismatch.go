package main

import (
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/rollbench/rollbench/internal/result"
	runner "github.com/rollbench/rollbench/internal/run"
	"github.com/rollbench/rollbench/workload"
)

// mismatchFlags need --mismatch.
var mismatchFlags = []string{"reference", "reference-model", "mismatch-prompts"}

// mismatchOptions are --mismatch's flags: what scores the scored pass.
type mismatchOptions struct {
	on        bool
	reference string
	model     string
	prompts   int
	kind      result.ReferenceKind
	given     given
}

func (m *mismatchOptions) register(fs *pflag.FlagSet) {
	fs.BoolVar(&m.on, "mismatch", false, "after the measured passes, run a scored pass on the same prompts asking for the sampled tokens' log-probs (logprobs=0), write its samples to --output-dir/NAME.samples.jsonl.gz and score them with the BF16 reference: verl's rollout-vs-trainer mismatch figures (k3_kl, rollout_probs_diff_max, ...) in the result, next to the speed. Costs one more generate and the reference's load and scoring, none of it in the measured figures; with --config every experiment but the A/A is scored, bf16's being the floor")
	fs.StringVar(&m.reference, "reference", string(result.ReferenceHF), "with --mismatch: hf (a Hugging Face forward in BF16 in this process, as verl's FSDP actor computes old_log_probs) or vllm (a BF16 vLLM engine's prompt_logprobs, cheaper on big models)")
	fs.IntVar(&m.prompts, "mismatch-prompts", 4, "with --mismatch: the scored pass samples the step's first this many prompts, with all -n samples each (0: all): 4 x 8 samples of 256 tokens are 8192 scored tokens, at about a third of a measured pass's time")
	fs.StringVar(&m.model, "reference-model", "", "with --mismatch: the BF16 checkpoint the samples are scored by (default: the model itself at bf16, the built-in model's bf16, or with --config the model's bf16 entry)")
}

// Validate checks the flags; online says the run is --online.
func (m *mismatchOptions) Validate(online bool) error {
	if !m.on {
		return m.given.needs("--mismatch", mismatchFlags...)
	}
	if online {
		return usagef("--mismatch scores an in-process rollout; --online is not supported: run without --online (offline, or --config without --online)")
	}
	if m.prompts < 0 {
		return usagef("--mismatch-prompts must not be negative, got %d", m.prompts)
	}
	var err error
	if m.kind, err = result.ParseReferenceKind(m.reference); err != nil {
		return usagef("--reference: %v", err)
	}
	if m.model != "" {
		if m.model, err = filepath.Abs(m.model); err != nil {
			return usagef("--reference-model: %v", err)
		}
		if err := workload.CheckModel(m.model, workload.BF16); err != nil {
			return usagef("--reference-model %w", err)
		}
	}
	return nil
}

// referenceOf is the reference checkpoint of a run of model at quant:
// --reference-model, else the model itself at bf16, else "" for the
// built-in model's bf16 (resolved once the interpreter runs).
func (m *mismatchOptions) referenceOf(model string, quant workload.Quantization) (string, error) {
	switch {
	case m.model != "":
		return m.model, nil
	case model == "":
		return "", nil
	case quant == workload.BF16:
		return model, nil
	}
	return "", usagef("--mismatch scores the %s rollout of %s against its BF16 checkpoint: give --reference-model DIR", quant, model)
}

// scoring is what an experiment named name in outputDir is given, nil
// without --mismatch.
func (m *mismatchOptions) scoring(outputDir, name, reference string) *runner.Scoring {
	if !m.on {
		return nil
	}
	return &runner.Scoring{
		Reference:   result.Reference{Kind: m.kind, Model: reference},
		SamplesPath: result.SamplesPath(outputDir, name),
		Prompts:     m.prompts,
	}
}

// matrixReferences are the reference of each model of a matrix: its bf16
// entry ("" for the built-in model), or --reference-model when one model
// is selected.
func (m *mismatchOptions) matrixReferences(bf16 map[string]string, configured map[string]bool, models []string, file string) (map[string]string, error) {
	out := map[string]string{}
	if m.model != "" {
		if len(models) > 1 {
			return nil, usagef("--reference-model names one checkpoint, and --config selects %d models: leave it out (each model's bf16 entry is its reference) or select one with --models", len(models))
		}
		for _, name := range models {
			out[name] = m.model
		}
		return out, nil
	}
	for _, name := range models {
		if !configured[name] {
			return nil, usagef("--mismatch scores %s against its BF16 checkpoint, and %s has no bf16 entry for it: add one, or give --reference-model DIR with --models %s", name, file, name)
		}
		out[name] = bf16[name]
	}
	return out, nil
}
