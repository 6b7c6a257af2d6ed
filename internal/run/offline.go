//go:build !nopython

// Offline runs one in-process offline experiment: the rollout step
// submitted to vllm.LLM in a single generate call, timed from Go.

package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload"
	"github.com/rollbench/rollbench/workload/dataset"
)

// OfflineExperiment names a spec for results and reports.
type OfflineExperiment struct {
	// Name is the result's file name, MODEL_QUANT by convention.
	Name string
	// ModelName labels the model in reports.
	ModelName string
	Spec      workload.Spec
	// Profile, when set, adds a profiled pass after the measured ones.
	Profile *profile.Plan
	// Mismatch, when set, adds a scored pass after them and scores it.
	Mismatch *Scoring
}

// Offline performs the experiment. The result it returns is complete on success
// and, on failure, holds whatever was measured with Status failed and the
// error; it is nil only when ctx was done before anything ran.
func Offline(ctx context.Context, in *pyembed.Interpreter, x OfflineExperiment) (*result.Offline, error) {
	spec := x.Spec
	r := &result.Offline{
		Header:       result.Started(result.Schema, x.Name, x.ModelName),
		Spec:         spec,
		RolloutMode:  string(cmp.Or(spec.Rollout.Mode, workload.Sync)),
		EngineKwargs: engineKwargs(spec),
		Sampling:     spec.Rollout.Sampling(),
		Warnings:     []string{},
	}
	profileKwargs(r.EngineKwargs, x.Profile)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if x.Mismatch != nil {
		r.Mismatch = newMismatch(r.Sampling, x.Mismatch)
	}
	var profileErr, mismatchErr error
	err := runOffline(ctx, in, r, x, &profileErr, &mismatchErr)
	if err == nil {
		// A signal during the teardown leaves the figures whole, but the
		// run did not finish.
		err = context.Cause(ctx)
	}
	if err != nil {
		r.Error = err.Error()
		return r, err
	}
	// The measurement stands whatever became of the profile and the
	// mismatch.
	r.Status = result.StatusOK
	if mismatchErr != nil {
		mismatchErr = fmt.Errorf("mismatch: %w", mismatchErr)
		r.Mismatch.Error = mismatchErr.Error()
	}
	return r, errors.Join(profileErr, mismatchErr)
}

func runOffline(ctx context.Context, in *pyembed.Interpreter, r *result.Offline, x OfflineExperiment, profileErr, mismatchErr *error) (err error) {
	plan := x.Profile
	ctx, finish := watchEngine(ctx)
	defer func() { err = finish(err) }()
	spec := r.Spec
	start := time.Now()
	progress.From(ctx).Phase(progress.Import, "")
	if r.Environment, err = engine.Describe(ctx, in); err != nil {
		return err
	}
	r.Timings.Import = time.Since(start).Seconds()
	if err := engine.Supports(r.Environment, spec.Engine.Quant); err != nil {
		return err
	}
	if x.Mismatch != nil {
		if err := checkReference(ctx, in, spec.Engine.Model, x.Mismatch.Reference.Model); err != nil {
			return err
		}
	}
	if plan != nil && plan.Options.NPU() {
		if err := engine.CheckNPUProfiler(ctx, in); err != nil {
			return err
		}
	}
	var prompts [][]int // from the dataset; else drawn once the vocabulary is known
	if spec.Rollout.Dataset != nil {
		if prompts, r.Dataset, err = datasetPrompts(ctx, in, spec); err != nil {
			return err
		}
	}
	if spec.Replicas != nil {
		return runReplicas(ctx, in, r, prompts)
	}

	repeat := max(spec.Rollout.Repeat, 1)
	rule := stoppingRule(spec.Rollout)
	var eng *engine.Engine
	var scored *scoredSamples
	for i := range repeat {
		rep := result.Repetition{}
		if eng == nil {
			var load float64
			if eng, load, err = openWarm(ctx, in, r, i == 0); err != nil {
				return err
			}
			if i > 0 {
				rep.LoadS = load
			}
			if prompts == nil {
				if prompts, err = randomPrompts(ctx, eng, spec.Rollout); err != nil {
					return errors.Join(err, closeEngine(ctx, eng, r))
				}
			}
		}
		progress.From(ctx).Phase(progress.Generate, generateDetail(spec.Rollout, i, repeat))
		if err := measuredPass(ctx, eng, prompts, r, rep, true); err != nil {
			if repeat > 1 {
				err = fmt.Errorf("repetition %d of %d: %w", i+1, repeat, err)
			}
			return errors.Join(err, closeEngine(ctx, eng, r))
		}
		last := i == repeat-1
		if rule != nil {
			st, done := rule.Check(i+1, r.OutputEstimate(rule.Alpha()).HalfWidth())
			if done {
				r.Stop, last = &st, true
			}
		}
		if plan != nil && last {
			progress.From(ctx).Phase(progress.Profile, "")
			r.Profile = &profile.Record{}
			vocab, err := eng.Vocabulary(ctx)
			if err == nil {
				err = offlineProfilePass(ctx, in, eng, spec.Rollout, r.Profile, plan, vocab)
			}
			*profileErr = err
		}
		if x.Mismatch != nil && last {
			scored, *mismatchErr = scoredPass(ctx, in, eng, r, prompts, x.Mismatch)
		}
		if spec.Rollout.FreshEngine || last {
			if err := closeEngine(ctx, eng, r); err != nil {
				return err
			}
			eng = nil
		}
		if last {
			break
		}
	}
	r.CloseRepetitions()
	if scored != nil {
		// After the engine is closed: the reference may need its memory.
		*mismatchErr = Score(ctx, in, scored.header, scored.samples, r.Mismatch, r.Environment.Platform)
	}
	return nil
}

// openWarm loads an engine and runs the untimed warm-up on it. The first
// engine's load and warm-up times are the result's timings; a later one's
// load time is returned for its repetition.
func openWarm(ctx context.Context, in *pyembed.Interpreter, r *result.Offline, first bool) (*engine.Engine, float64, error) {
	spec := r.Spec
	progress.From(ctx).Phase(progress.Load, fmt.Sprintf("%s, %s", spec.Engine.Model, spec.Engine.Quant))
	start := time.Now()
	eng, err := engine.Open(ctx, in, r.EngineKwargs)
	load := time.Since(start).Seconds()
	if first {
		r.Timings.Load = load
	}
	if err != nil {
		return nil, load, fmt.Errorf("load model %s: %w", spec.Engine.Model, err)
	}
	if spec.Rollout.WarmupPrompts == 0 {
		return eng, load, nil
	}
	vocab, err := eng.Vocabulary(ctx)
	var warm [][]int
	if err == nil {
		warm, err = spec.Rollout.WarmupPromptSet(vocab.Size, vocab.Special)
	}
	if err != nil {
		return nil, load, errors.Join(err, closeEngine(ctx, eng, r))
	}
	progress.From(ctx).Phase(progress.Warmup, "")
	start = time.Now()
	if _, err := eng.Generate(ctx, warm, spec.Rollout.Sampling()); err != nil {
		return nil, load, errors.Join(fmt.Errorf("warm-up: %w", err), closeEngine(ctx, eng, r))
	}
	if first {
		r.Timings.Warmup = time.Since(start).Seconds()
	}
	return eng, load, nil
}

// generateDetail says which pass of how many samples a generate phase is.
func generateDetail(ro workload.Rollout, i, repeat int) string {
	s := fmt.Sprintf("%d prompts x n=%d", ro.NumPrompts, ro.N)
	switch {
	case ro.TargetCI > 0:
		s += fmt.Sprintf(", pass %d of at most %d", i+1, repeat)
	case repeat > 1:
		s += fmt.Sprintf(", pass %d of %d", i+1, repeat)
	}
	return s
}

// stoppingRule is --repeat auto's rule, nil for a fixed number of passes.
func stoppingRule(ro workload.Rollout) *metrics.Sequential {
	if ro.TargetCI == 0 {
		return nil
	}
	return &metrics.Sequential{Target: ro.TargetCI, Max: ro.Repeat}
}

func randomPrompts(ctx context.Context, eng *engine.Engine, ro workload.Rollout) ([][]int, error) {
	vocab, err := eng.Vocabulary(ctx)
	if err != nil {
		return nil, err
	}
	return ro.Prompts(vocab.Size, vocab.Special)
}

// closeEngine shuts eng down and times it.
func closeEngine(ctx context.Context, eng *engine.Engine, r *result.Offline) error {
	progress.From(ctx).Phase(progress.Teardown, "")
	start := time.Now()
	err := shutDown(ctx, eng)
	r.Timings.Teardown = time.Since(start).Seconds()
	return err
}

// measuredPass runs one measured pass on eng and records it.
func measuredPass(ctx context.Context, eng *engine.Engine, prompts [][]int, r *result.Offline, rep result.Repetition, counters bool) error {
	s, err := measureStep(ctx, eng, r.Spec, prompts, r.Spec.Rollout.Sampling(), counters)
	if err != nil {
		return err
	}
	recordPass(s, r, rep, counters)
	return nil
}

// recordPass records a measured pass. The first pass gives the result its
// figures, timeline and counters; every pass is a repetition.
func recordPass(s *step, r *result.Offline, rep result.Repetition, counters bool) {
	rates := s.tokens.Rates(s.gen.Elapsed)
	rep.GenerateS = s.gen.Elapsed.Seconds()
	rep.OutputTokensPerSecond, rep.TotalTokensPerSecond = rates.OutputTokensPerSecond, rates.TotalTokensPerSecond
	rep.MakespanS = &s.timeline.MakespanS
	first := len(r.Repetitions) == 0
	r.AddRepetition(rep)
	if !first {
		return
	}
	r.Timings.BuildRequests = s.gen.Build.Seconds()
	r.ProgressHook = s.gen.SampleHook
	if s.perSample {
		// Every sample was a request of n 1, with its own length as
		// max_tokens; max_tokens here is the longest.
		r.Sampling.N = 1
	}
	r.SetGeneration(s.tokens, s.gen.Elapsed)
	r.Warnings = append(r.Warnings, s.warnings...)
	r.Timeline = &s.timeline
	if counters {
		r.EngineCounters = &s.counters
	}
}

func totalLen(prompts [][]int) int {
	n := 0
	for _, p := range prompts {
		n += len(p)
	}
	return n
}

// datasetPrompts reads the spec's dataset, applies the model's chat
// template and chooses the step's prompts.
func datasetPrompts(ctx context.Context, in *pyembed.Interpreter, spec workload.Spec) ([][]int, *dataset.Info, error) {
	d := spec.Rollout.Dataset
	f, err := dataset.Read(d.Path)
	if err != nil {
		return nil, nil, err
	}
	tokens, err := engine.ChatTokens(ctx, in, spec.Engine.Model, f.Chats)
	if err != nil {
		return nil, nil, fmt.Errorf("--dataset %s: %w", d.Path, err)
	}
	prompts, info, err := dataset.Select(f, tokens, spec.Rollout.InputLen, spec.Rollout.NumPrompts, spec.Rollout.Seed, d.Handling)
	if err != nil {
		return nil, nil, err
	}
	return prompts, &info, nil
}
