package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/rollbench/rollbench/internal/report"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/workload"
)

const scoreUsage = `Usage: rollbench-inproc score --samples FILE [--reference-model DIR] [--reference hf|vllm]

Scores a samples file written by --mismatch (or by another tool, in the same
layout) with the BF16 reference, and writes verl's rollout-vs-trainer
mismatch figures to --output (default: the samples file's name with
.score.json). The reference is --reference-model, or the samples' own model
when they were sampled at bf16. Scoring the file of a run reproduces that
run's figures.
`

// scoreOptions are `rollbench-inproc score`'s.
type scoreOptions struct {
	samples, output, python string
	mismatch                mismatchOptions
	verbose                 bool

	// Validate reads the file, so that a corrupt one is refused before
	// the interpreter starts.
	header result.SamplesHeader
	read   []result.Sample
}

func parseScore(args []string, stdout io.Writer) (command, error) {
	o := &scoreOptions{}
	s := newSection("Flags")
	fs := s.fs
	fs.StringVar(&o.samples, "samples", "", "the samples file (NAME.samples.jsonl.gz)")
	fs.StringVar(&o.mismatch.reference, "reference", string(result.ReferenceHF), "hf (a Hugging Face forward in BF16, as verl's FSDP actor computes old_log_probs) or vllm (a BF16 vLLM engine's prompt_logprobs)")
	fs.StringVar(&o.mismatch.model, "reference-model", "", "the BF16 checkpoint to score with (default: the samples' model, when they were sampled at bf16)")
	fs.StringVar(&o.output, "output", "", "the score's JSON file (default: the samples file's name, .samples.jsonl.gz replaced by .score.json)")
	fs.StringVar(&o.python, "python", defaultPythonPath(), "python executable with transformers (and vllm for --reference vllm)")
	fs.BoolVar(&o.verbose, "verbose", false, "show Python tracebacks of errors")
	args, err := parseSubcommand("score", scoreUsage, args, stdout, s)
	if err == nil && len(args) > 0 {
		err = usagef("score: unexpected argument %q (see --help)", args[0])
	}
	return o, err
}

func (o *scoreOptions) showTracebacks() bool { return o.verbose }

func (o *scoreOptions) Validate() error {
	if o.samples == "" {
		return usagef("score: --samples FILE is required")
	}
	// --mismatch is what `score` does.
	o.mismatch.on = true
	if err := o.mismatch.Validate(false); err != nil {
		return err
	}
	if o.output == "" {
		o.output = strings.TrimSuffix(o.samples, result.SamplesExt) + result.ScoreExt
	}
	if err := o.readSamples(); err != nil {
		return err
	}
	if o.mismatch.model == "" {
		h := o.header
		if h.Quantization != workload.BF16 || h.ModelPath == "" {
			return usagef("score: the samples were sampled from %s at %s; give its BF16 checkpoint with --reference-model DIR", h.ModelPath, h.Quantization)
		}
		if err := workload.CheckModel(h.ModelPath, workload.BF16); err != nil {
			return usagef("score: the samples' model %v; give its BF16 checkpoint with --reference-model DIR", err)
		}
		o.mismatch.model = h.ModelPath
	}
	return nil
}

// readSamples reads the whole file, which proves it whole.
func (o *scoreOptions) readSamples() error {
	r, err := result.OpenSamples(o.samples)
	if err != nil {
		return usagef("score: %v", err)
	}
	defer r.Close()
	o.header = r.Header()
	for {
		s, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return usagef("score: %v", err)
		}
		o.read = append(o.read, s)
	}
}

func (o *scoreOptions) run(ctx context.Context, stdout io.Writer) error {
	res := &result.Score{
		Header:        result.Started(result.ScoreSchema, o.header.Name, o.header.ModelName),
		SamplesPath:   o.samples,
		SamplesHeader: o.header,
		Mismatch: result.Mismatch{
			Samples: filepath.Base(o.samples), Reference: result.Reference{Kind: o.mismatch.kind, Model: o.mismatch.model},
		},
	}
	res.Rollbench = version
	if abs, err := filepath.Abs(o.samples); err == nil {
		res.SamplesPath = abs
	}
	err := scoreSamples(ctx, o.python, res, o.read)
	if err != nil {
		res.Error = err.Error()
		res.Mismatch.Error = res.Error
	} else {
		res.Status = result.StatusOK
	}
	if werr := result.Write(o.output, res); werr != nil {
		return errors.Join(err, werr)
	}
	if err != nil {
		return fmt.Errorf("score %s: %w (written to %s)", o.samples, err, o.output)
	}
	return report.Console(stdout, res, o.output)
}
