//go:build !nopython

package main

import (
	"context"
	"errors"
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
	r.named()
	plan := forExperiment(r.profile.plan, r.name)
	// Beside the traces, not among the measured results that summaries read.
	name := strings.TrimSuffix(filepath.Base(o.file), filepath.Ext(o.file)) + ".session"
	lock, err := result.Acquire(plan.Dir, name)
	if err != nil {
		return err
	}
	defer lock.Release()
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
	res, runErr := runner.Session(ctx, in, runner.OfflineExperiment{Name: r.name, ModelName: r.modelName, Spec: r.spec, Profile: plan}, abs)
	res.Rollbench, res.Log = version, log
	runErr = explained(runErr, &res.Header, log)
	path, saveErr := result.Save(plan.Dir, name, res, stdout)
	progress.From(ctx).Close()
	if err := report.ConsoleSession(stdout, res, o.file, shownPath(path)); err != nil {
		return errors.Join(runErr, saveErr, err)
	}
	return afterSave(runErr, saveErr, path, log)
}
