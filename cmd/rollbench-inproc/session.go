package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/report"
	"github.com/rollbench/rollbench/internal/result"
	runner "github.com/rollbench/rollbench/internal/run"
)

const sessionUsage = `Usage: rollbench-inproc profile --session FILE [flags]

Runs a scripted profiling session: loads the engine as a run with the same
flags would, then runs the file's steps in order (warmup, start, generate
with a shape and an optional range, stop, ...), timing each from Go, and
writes one trace per start/stop pair to --profile-dir/NAME/, a top-operator
report next to each trace, and the steps' timings to
--profile-dir/NAME/SESSION.session.json (SESSION: the file's name).
The file's profiler block chooses the profiler; see configs/profile-session.yaml.
Nothing here is a measurement: run without "profile" for throughput.

Flags: --session FILE, --profile-dir, --profile-top, --name, and every
engine and rollout flag of a plain run (steps override the rollout's sizes).
`

func (o *sessionOptions) run(ctx context.Context, stdout io.Writer) error {
	r := o.offline
	plan := r.profile.plan
	in, err := startInterpreter(r.python, plan.EngineCoreInProcess)
	if err != nil {
		return err
	}
	defer finalize(in)
	if r.spec.Engine.Model == "" {
		if r.spec.Engine.Model, err = engine.EnsureTinyModel(ctx, in, cacheDir(), r.spec.Engine.Quant); err != nil {
			return err
		}
		r.modelName = "tiny"
	}
	r.named()
	abs, _ := filepath.Abs(o.file)
	plan = forExperiment(plan, r.name)
	res, runErr := runner.Session(ctx, in, runner.OfflineExperiment{Name: r.name, ModelName: r.modelName, Spec: r.spec, Profile: plan}, abs)
	res.Rollbench = version
	// Beside the traces, not among the measured results that summaries read.
	path := filepath.Join(plan.Dir, strings.TrimSuffix(filepath.Base(o.file), filepath.Ext(o.file))+".session.json")
	if err := result.Write(path, res); err != nil {
		return err
	}
	if err := report.ConsoleSession(stdout, res, o.file, path); err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("%w (result saved to %s)", runErr, path)
	}
	return nil
}
