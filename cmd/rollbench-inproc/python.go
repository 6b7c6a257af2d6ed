//go:build !nopython

// The embedded interpreter, for the modes that run vLLM inside this
// process: offline runs (alone, in a matrix, under --diagnostic) and profile
// sessions. nopython.go stands in for this file in a build without it.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/result"
	runner "github.com/rollbench/rollbench/internal/run"
	"github.com/rollbench/rollbench/internal/supervise"
	"github.com/rollbench/rollbench/pyembed"
)

type interpreter = pyembed.Interpreter

// embedded is nil: this binary embeds the interpreter.
func embedded(string) error { return nil }

// startInterpreter embeds the chosen python with rollbench's own Python
// package on its path, and the environment an embedded engine needs.
func startInterpreter(exe string, engineCoreInProcess bool) (*pyembed.Interpreter, error) {
	py, err := prepare(exe)
	if err != nil {
		return nil, err
	}
	in, err := pyembed.Start(pyembed.Config{Python: exe, Path: []string{py.Path}, Env: engineEnv(os.LookupEnv, engineCoreInProcess)})
	if err != nil {
		return nil, fmt.Errorf("--python: %w", err)
	}
	return in, nil
}

// finalize runs the interpreter's exit handlers, but gives up waiting on a
// library thread that never ends: the process is exiting anyway, and an
// interrupted run must end soon. No engine process is left for them to
// wait for.
func finalize(in *pyembed.Interpreter) {
	const finalizeLimit = 5 * time.Second
	supervise.KillEngine()
	done := make(chan struct{})
	go func() {
		_ = in.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(finalizeLimit):
	}
}

func runOffline(ctx context.Context, in *pyembed.Interpreter, x experiment) (*result.Offline, error) {
	r, err := runner.Offline(ctx, in, runner.OfflineExperiment{Name: x.Name, ModelName: x.ModelName, Spec: x.Spec, Profile: x.Profile, Mismatch: x.Mismatch})
	if r != nil {
		r.AA = x.AA
	}
	return r, err
}

func runPaired(ctx context.Context, in *pyembed.Interpreter, x experiment) (*result.Paired, error) {
	return runner.Paired(ctx, in, runner.PairedExperiment{Name: x.Name, ModelName: x.ModelName, Spec: x.Spec, Arms: x.Paired})
}

// printTraceback shows the Python traceback of err, when it has one.
func printTraceback(w io.Writer, err error) {
	var pe *pyembed.Error
	if errors.As(err, &pe) && pe.Traceback != "" {
		fmt.Fprint(w, pe.Traceback)
	}
}

// scoreSamples scores a samples file's samples in an interpreter of its
// own, with res's reference, filling res.
func scoreSamples(ctx context.Context, exe string, res *result.Score, samples []result.Sample) error {
	in, err := startInterpreter(exe, false)
	if err != nil {
		return err
	}
	defer finalize(in)
	if res.Environment, err = engine.Describe(ctx, in); err != nil {
		return err
	}
	return runner.Score(ctx, in, res.SamplesHeader, samples, &res.Mismatch, res.Environment.Platform)
}
