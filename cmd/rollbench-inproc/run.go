package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/report"
	"github.com/rollbench/rollbench/internal/result"
	runner "github.com/rollbench/rollbench/internal/run"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/python"
	"github.com/rollbench/rollbench/workload"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd, err := parse(args, stdout)
	if err != nil {
		return err
	}
	if err := cmd.Validate(); err != nil {
		return err
	}
	err = cmd.run(ctx, stdout)
	var pe *pyembed.Error
	if v, ok := cmd.(interface{ showTracebacks() bool }); ok && v.showTracebacks() && errors.As(err, &pe) && pe.Traceback != "" {
		fmt.Fprint(stderr, pe.Traceback)
	}
	return err
}

// parse chooses the mode the arguments ask for and fills its options.
func parse(args []string, stdout io.Writer) (command, error) {
	if len(args) > 0 {
		switch args[0] {
		case "tiny-model":
			return parseTinyModel(args[1:], stdout)
		case "summarize":
			return parseSummarize(args[1:], stdout)
		case "run-experiment":
			return parseExperiment(args[1:])
		case "mock-server":
			return parseMockServer(args[1:], stdout)
		case "profile":
			return parseSession(args[1:], stdout)
		}
	}
	return parseMain(args, stdout)
}

// showTracebacks is --verbose: the modes that load an engine show a Python
// error's traceback on stderr.
func (e *engineOptions) showTracebacks() bool { return e.verbose }

// versionCommand is --version.
type versionCommand struct{}

func (versionCommand) Validate() error { return nil }

func (versionCommand) run(_ context.Context, stdout io.Writer) error {
	fmt.Fprintln(stdout, "rollbench-inproc", version)
	return nil
}

// experiment is one run, offline or online: what a single run does, and
// what the matrix hands a child process in its experiment file.
type experiment struct {
	Name      string        `json:"name"`
	ModelName string        `json:"model_name"`
	Spec      workload.Spec `json:"spec"`
	// Online, when set, runs the experiment through vllm serve.
	Online *runner.OnlineOptions `json:"online,omitempty"`
	// Profile, when set, adds a profiled pass after the measured one.
	Profile *profile.Plan `json:"profile,omitempty"`
}

func (o *offlineOptions) run(ctx context.Context, stdout io.Writer) error {
	o.named()
	return runSingle(ctx, o.python, o.outputDir, o.experiment(), stdout)
}

func (o *onlineOptions) run(ctx context.Context, stdout io.Writer) error {
	o.named()
	return runSingle(ctx, o.python, o.outputDir, o.experiment(), stdout)
}

// runSingle runs one experiment in this process and prints its summary.
func runSingle(ctx context.Context, python, outputDir string, x experiment, stdout io.Writer) error {
	in, err := startInterpreter(python, x.engineCoreInProcess())
	if err != nil {
		return err
	}
	defer finalize(in)
	path := filepath.Join(outputDir, x.Name+".json")
	res, err := runAndSave(ctx, in, x, path)
	if err != nil {
		if res != nil {
			if measured(res) {
				// The measurement stands; its profile failed.
				if err := report.Console(stdout, res, path); err != nil {
					return err
				}
			}
			return fmt.Errorf("%w (result saved to %s)", err, path)
		}
		return err
	}
	return report.Console(stdout, res, path)
}

// measured reports whether a result's measurement succeeded, whatever
// became of its profiled pass.
func measured(res any) bool {
	switch r := res.(type) {
	case *result.Offline:
		return r.Status == result.StatusOK
	case *result.Online:
		return r.Status == result.StatusOK
	}
	return false
}

// engineCoreInProcess says whether the experiment's profiler needs vLLM's
// engine core in this process.
func (x experiment) engineCoreInProcess() bool {
	switch {
	case x.Profile != nil:
		return x.Profile.EngineCoreInProcess
	case x.Online != nil && x.Online.Profile != nil:
		return x.Online.Profile.EngineCoreInProcess
	}
	return false
}

// runAndSave runs one experiment, on the built-in model where it names no
// model, and saves its result, failed or not, at path: a *result.Offline or
// a *result.Online.
func runAndSave(ctx context.Context, in *pyembed.Interpreter, x experiment, path string) (any, error) {
	if x.Spec.Engine.Model == "" {
		model, err := engine.EnsureTinyModel(ctx, in, cacheDir(), x.Spec.Engine.Quant)
		if err != nil {
			return nil, err
		}
		x.Spec.Engine.Model = model
	}
	var res any
	var runErr error
	if x.Online != nil {
		r, err := runner.Online(ctx, in, runner.OnlineExperiment{Name: x.Name, ModelName: x.ModelName, Spec: x.Spec, Options: *x.Online})
		if r == nil {
			return nil, err
		}
		r.Rollbench, res, runErr = version, r, err
	} else {
		r, err := runner.Offline(ctx, in, runner.OfflineExperiment{Name: x.Name, ModelName: x.ModelName, Spec: x.Spec, Profile: x.Profile})
		if r == nil {
			return nil, err
		}
		r.Rollbench, res, runErr = version, r, err
	}
	if err := result.Write(path, res); err != nil {
		return nil, errors.Join(runErr, err)
	}
	return res, runErr
}

// startInterpreter embeds the chosen python with rollbench's own Python
// package on its path, and the environment an embedded engine needs.
func startInterpreter(exe string, engineCoreInProcess bool) (*pyembed.Interpreter, error) {
	src, err := python.Install(cacheDir())
	if err != nil {
		return nil, err
	}
	in, err := pyembed.Start(pyembed.Config{Python: exe, Path: []string{src}, Env: engineEnv(os.LookupEnv, engineCoreInProcess)})
	if err != nil {
		return nil, fmt.Errorf("--python: %w", err)
	}
	return in, nil
}

// engineEnv is what an embedded engine needs set in the environment,
// where the user did not set it: vLLM's engine core in this process when
// the profiler needs it there (validation refused any other value).
func engineEnv(lookup func(string) (string, bool), engineCoreInProcess bool) map[string]string {
	defaults := map[string]string{
		// A forked child of a Go process inherits a runtime whose other
		// threads are gone; vLLM's children must start fresh.
		"VLLM_WORKER_MULTIPROC_METHOD": "spawn",
		// rollbench loads local directories only; never wait on a hub.
		"HF_HUB_OFFLINE": "1",
		// The engine's log goes to stderr, so stdout carries only
		// rollbench's own summary.
		"VLLM_LOGGING_STREAM": "ext://sys.stderr",
	}
	if engineCoreInProcess {
		defaults[multiprocessingKey] = "0"
	}
	env := map[string]string{}
	for k, v := range defaults {
		if _, set := lookup(k); !set {
			env[k] = v
		}
	}
	return env
}

// finalize runs the interpreter's exit handlers, but gives up waiting on a
// library thread that never ends: the process is exiting anyway.
func finalize(in *pyembed.Interpreter) {
	done := make(chan struct{})
	go func() {
		_ = in.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
}

// cacheDir holds what rollbench generates once per machine: the Python
// sources it ships and the tiny model.
func cacheDir() string {
	if d := os.Getenv("ROLLBENCH_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "rollbench")
	}
	return filepath.Join(os.TempDir(), "rollbench-cache")
}

const tinyModelUsage = `Usage: rollbench-inproc tiny-model --out DIR [--quant bf16|w8a8]

Writes the built-in tiny Qwen3 model (random weights from a fixed seed, a
tokenizer trained on a corpus shipped in the binary) to DIR. The same
version of rollbench always writes the same bytes.
`

func (o *tinyModelOptions) run(ctx context.Context, stdout io.Writer) error {
	in, err := startInterpreter(o.python, false)
	if err != nil {
		return err
	}
	defer finalize(in)
	if err := engine.WriteTinyModel(ctx, in, o.out, o.q); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote the tiny %s model to %s\n", o.q, o.out)
	return nil
}
