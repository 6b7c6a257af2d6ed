package run

import (
	"context"
	"fmt"

	"github.com/rollbench/rollbench/internal/loadgen"
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/server"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload"
)

// onlineProfilePass runs the plan's steps against the server after the measured
// run: its requests are separate from the measured ones and its timings
// stay in rec.
func onlineProfilePass(ctx context.Context, srv *server.Server, cfg loadgen.Config, vocab workload.Vocabulary, base workload.Rollout, plan *profile.Plan, rec *profile.Record) error {
	rec.EngineCoreInProcess = plan.EngineCoreInProcess
	pass := profile.Pass{
		Options: plan.Options, Dir: plan.Dir, Rollout: base, Top: plan.Top,
		Start: func(ctx context.Context, name string) (func(context.Context) error, error) {
			if err := srv.StartProfile(ctx, name); err != nil {
				return nil, err
			}
			return srv.StopProfile, nil
		},
		Generate: func(ctx context.Context, ro workload.Rollout) error {
			c := cfg
			c.N, c.MaxTokens = ro.N, ro.OutputLen
			var err error
			if c.Prompts, err = ro.Prompts(vocab.Size, vocab.Special); err != nil {
				return err
			}
			results, err := loadgen.Run(ctx, c)
			if err != nil {
				return err
			}
			if m := metrics.ComputeOnline(loadgen.Collect(results), c.MaxConcurrency); m.FailedRequests > 0 {
				return fmt.Errorf("%d of %d profiled requests failed", m.FailedRequests, m.Requests)
			}
			return nil
		},
	}
	if err := pass.Run(ctx, plan.Steps, rec); err != nil {
		rec.Error = err.Error()
		return fmt.Errorf("profiled pass: %w", err)
	}
	return nil
}
