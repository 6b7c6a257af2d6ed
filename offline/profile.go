package offline

import (
	"context"
	"fmt"

	"github.com/rollbench/rollbench/engine"
	"github.com/rollbench/rollbench/profile"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/result"
	"github.com/rollbench/rollbench/workload"
)

// profileKwargs adds what the engine needs to be profiled later: vLLM's
// profiler is configured when the engine loads, idle until started.
func profileKwargs(kwargs map[string]any, plan *profile.Plan) {
	if plan != nil && plan.Options.Backend == profile.VLLM {
		kwargs["profiler_config"] = plan.Options.VLLMConfig(plan.Dir)
	}
}

// profilePass runs the plan's steps on the engine the measured pass used,
// after it. It records into r.Profile and touches nothing measured.
func profilePass(ctx context.Context, in *pyembed.Interpreter, eng *engine.Engine, r *result.Offline, plan *profile.Plan, vocab workload.Vocabulary) error {
	r.Profile = &profile.Record{EngineCoreInProcess: plan.EngineCoreInProcess}
	pass := profile.Pass{
		In: in, Engine: eng, Options: plan.Options, Dir: plan.Dir, Rollout: r.Spec.Rollout, Top: plan.Top,
		Generate: func(ctx context.Context, ro workload.Rollout) error {
			prompts, err := ro.Prompts(vocab.Size, vocab.Special)
			if err != nil {
				return err
			}
			_, err = eng.Generate(ctx, prompts, Sampling(ro))
			return err
		},
	}
	if err := pass.Run(ctx, plan.Steps, r.Profile); err != nil {
		r.Profile.Error = err.Error()
		return fmt.Errorf("profiled pass: %w", err)
	}
	return nil
}
