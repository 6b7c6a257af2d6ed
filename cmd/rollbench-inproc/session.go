//go:build !nopython

package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/internal/report"
	"github.com/rollbench/rollbench/internal/result"
	runner "github.com/rollbench/rollbench/internal/run"
)

func (o *sessionOptions) run(ctx context.Context, stdout io.Writer) error {
	r := o.offline
	plan := r.profile.plan
	// Named before the built-in model is resolved, as a plain run is.
	r.named()
	log := r.engineLogPath(r.name)
	if err := toEngineLog(log); err != nil {
		return err
	}
	in, err := startInterpreter(r.python, plan.EngineCoreInProcess)
	if err != nil {
		return err
	}
	defer finalize(in)
	if r.spec.Engine.Model == "" {
		py, err := prepare(r.python)
		if err != nil {
			return err
		}
		if r.spec.Engine.Model, err = engine.EnsureTinyModel(ctx, py, cacheDir(), r.spec.Engine.Quant); err != nil {
			return err
		}
	}
	abs, _ := filepath.Abs(o.file)
	plan = forExperiment(plan, r.name)
	res, runErr := runner.Session(ctx, in, runner.OfflineExperiment{Name: r.name, ModelName: r.modelName, Spec: r.spec, Profile: plan}, abs)
	res.Rollbench, res.Log = version, log
	runErr = explained(runErr, &res.Header, log)
	// Beside the traces, not among the measured results that summaries read.
	path := filepath.Join(plan.Dir, strings.TrimSuffix(filepath.Base(o.file), filepath.Ext(o.file))+".session.json")
	if err := result.Write(path, res); err != nil {
		return err
	}
	progress.From(ctx).Close()
	if err := report.ConsoleSession(stdout, res, o.file, path); err != nil {
		return err
	}
	if runErr != nil {
		return logged(fmt.Errorf("%w (result saved to %s%s)", runErr, path, logNote(log)), log)
	}
	return nil
}
