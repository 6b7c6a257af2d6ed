//go:build !nopython

package run

import (
	"context"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/pyembed"
)

// The adapters where profiling meets the engine in the embedded
// interpreter: a profile.Pass's Start and Range.

// engineProfiler starts the profiler the options choose for an engine in
// the embedded interpreter: vLLM's own, or the direct one.
func engineProfiler(in *pyembed.Interpreter, eng *engine.Engine, o profile.Options, dir string) func(context.Context, string) (func(context.Context) error, error) {
	return func(ctx context.Context, name string) (func(context.Context) error, error) {
		if o.Backend == profile.VLLM {
			if err := eng.StartProfile(ctx, name); err != nil {
				return nil, err
			}
			return eng.StopProfile, nil
		}
		prof, err := engine.StartProfiler(ctx, in, o.DirectKwargs(dir, name))
		if err != nil {
			return nil, err
		}
		return prof.Stop, nil
	}
}

// engineRange opens torch.profiler.record_function ranges in the embedded
// interpreter.
func engineRange(in *pyembed.Interpreter) func(context.Context, string) (func(context.Context) error, error) {
	return func(ctx context.Context, name string) (func(context.Context) error, error) {
		r, err := engine.EnterRange(ctx, in, name)
		if err != nil {
			return nil, err
		}
		return r.Exit, nil
	}
}
