// Package offline runs one in-process offline experiment: the rollout step
// submitted to vllm.LLM in a single generate call, timed from Go.
package offline

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/rollbench/rollbench/engine"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/result"
	"github.com/rollbench/rollbench/workload"
)

// Sampling is the rollout's SamplingParams: verl's sampling (temperature 1,
// top_p 1) with ignore_eos, unless --eos, so every sample has the asked
// length and runs compare token for token, as `vllm bench throughput` does.
// With per-sample requests n is 1 and max_tokens each sample's own.
func Sampling(r workload.Rollout) engine.Sampling {
	return engine.Sampling{N: r.N, Temperature: 1.0, TopP: 1.0, IgnoreEOS: !r.EOS, MaxTokens: r.OutputLen}
}

// Experiment names a spec for results and reports.
type Experiment struct {
	// Name is the result's file name, MODEL_QUANT by convention.
	Name string
	// ModelName labels the model in reports.
	ModelName string
	Spec      workload.Spec
}

// Run performs the experiment. The result it returns is complete on success
// and, on failure, holds whatever was measured with Status failed and the
// error; it is nil only when ctx was done before anything ran.
func Run(ctx context.Context, in *pyembed.Interpreter, x Experiment) (*result.Offline, error) {
	spec := x.Spec
	r := &result.Offline{
		Schema:       result.Schema,
		Name:         x.Name,
		ModelName:    x.ModelName,
		Status:       result.StatusFailed,
		StartedAt:    time.Now().UTC(),
		Spec:         spec,
		RolloutMode:  string(cmp.Or(spec.Rollout.Mode, workload.Sync)),
		EngineKwargs: engineKwargs(spec),
		Sampling:     Sampling(spec.Rollout),
		Warnings:     []string{},
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := run(ctx, in, r); err != nil {
		r.Error = err.Error()
		return r, err
	}
	r.Status = result.StatusOK
	return r, nil
}

func run(ctx context.Context, in *pyembed.Interpreter, r *result.Offline) (err error) {
	spec := r.Spec
	start := time.Now()
	if r.Environment, err = engine.Describe(ctx, in); err != nil {
		return err
	}
	r.Timings.Import = time.Since(start).Seconds()
	if err := r.Environment.Supports(spec.Engine.Quant); err != nil {
		return err
	}

	start = time.Now()
	eng, err := engine.Open(ctx, in, r.EngineKwargs)
	r.Timings.Load = time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("load model %s: %w", spec.Engine.Model, err)
	}
	defer func() {
		// Teardown must run even when ctx was cancelled: it is what
		// returns the device memory.
		start := time.Now()
		closeErr := eng.Close(context.WithoutCancel(ctx))
		r.Timings.Teardown = time.Since(start).Seconds()
		if err == nil {
			err = closeErr
		}
	}()

	vocab, err := eng.Vocabulary(ctx)
	if err != nil {
		return err
	}
	sampling := r.Sampling
	if spec.Rollout.WarmupPrompts > 0 {
		warm, err := spec.Rollout.WarmupPromptSet(vocab.Size, vocab.Special)
		if err != nil {
			return err
		}
		start := time.Now()
		if _, err := eng.Generate(ctx, warm, sampling); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		r.Timings.Warmup = time.Since(start).Seconds()
	}
	prompts, err := spec.Rollout.Prompts(vocab.Size, vocab.Special)
	if err != nil {
		return err
	}
	return measureStep(ctx, eng, r, prompts, sampling)
}
