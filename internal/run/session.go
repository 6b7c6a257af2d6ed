//go:build !nopython

package run

import (
	"context"
	"fmt"
	"time"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload"
)

// profileKwargs adds what the engine needs to be profiled later: vLLM's
// profiler is configured when the engine loads, idle until started.
func profileKwargs(kwargs map[string]any, plan *profile.Plan) {
	if plan != nil && plan.Options.Backend == profile.VLLM {
		kwargs["profiler_config"] = plan.Options.VLLMConfig(plan.Dir)
	}
}

// offlineProfilePass runs the plan's steps on the engine the measured pass used,
// after it. It records into rec and touches nothing measured.
func offlineProfilePass(ctx context.Context, in *pyembed.Interpreter, eng *engine.Engine, rollout workload.Rollout, rec *profile.Record, plan *profile.Plan, vocab workload.Vocabulary) error {
	rec.EngineCoreInProcess = plan.EngineCoreInProcess
	pass := profile.Pass{
		Options: plan.Options, Dir: plan.Dir, Rollout: rollout, Top: plan.Top,
		Start: engineProfiler(in, eng, plan.Options, plan.Dir),
		Range: engineRange(in),
		Generate: func(ctx context.Context, ro workload.Rollout) error {
			prompts, err := ro.Prompts(vocab.Size, vocab.Special)
			if err != nil {
				return err
			}
			_, err = eng.Generate(ctx, prompts, ro.Sampling())
			return err
		},
	}
	if err := pass.Run(ctx, plan.Steps, rec); err != nil {
		rec.Error = err.Error()
		return fmt.Errorf("profiled pass: %w", err)
	}
	return nil
}

// Session loads the engine and runs a profiling session on it, with no
// measured pass. Like Offline, it returns what it recorded even on failure.
func Session(ctx context.Context, in *pyembed.Interpreter, x OfflineExperiment, sessionFile string) (*result.Session, error) {
	r := &result.Session{
		Header: result.Started(result.SessionSchema, x.Name, x.ModelName), SessionFile: sessionFile, Spec: x.Spec, EngineKwargs: engine.Kwargs(x.Spec.Engine),
	}
	profileKwargs(r.EngineKwargs, x.Profile)
	err := runSession(ctx, in, r, x.Profile)
	if err == nil {
		// A signal during the teardown.
		err = context.Cause(ctx)
	}
	if err != nil {
		r.Error = err.Error()
		return r, err
	}
	r.Status = result.StatusOK
	return r, nil
}

func runSession(ctx context.Context, in *pyembed.Interpreter, r *result.Session, plan *profile.Plan) (err error) {
	ctx, finish := watchEngine(ctx)
	defer func() { err = finish(err) }()
	show := progress.From(ctx)
	show.Phase(progress.Import, "")
	if r.Environment, err = engine.Describe(ctx, in); err != nil {
		return err
	}
	if err := engine.Supports(r.Environment, r.Spec.Engine.Quant); err != nil {
		return err
	}
	if plan.Options.NPU() {
		if err := engine.CheckNPUProfiler(ctx, in); err != nil {
			return err
		}
	}
	show.Phase(progress.Load, fmt.Sprintf("%s, %s", r.Spec.Engine.Model, r.Spec.Engine.Quant))
	start := time.Now()
	eng, err := engine.Open(ctx, in, r.EngineKwargs)
	r.LoadS = time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("load model %s: %w", r.Spec.Engine.Model, err)
	}
	defer func() {
		show.Phase(progress.Teardown, "")
		if closeErr := shutDown(ctx, eng); err == nil {
			err = closeErr
		}
	}()
	vocab, err := eng.Vocabulary(ctx)
	if err != nil {
		return err
	}
	show.Phase(progress.Profile, "")
	r.Profile = &profile.Record{}
	return offlineProfilePass(ctx, in, eng, r.Spec.Rollout, r.Profile, plan, vocab)
}
