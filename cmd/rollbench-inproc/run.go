package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/enginelog"
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/internal/report"
	"github.com/rollbench/rollbench/internal/result"
	runner "github.com/rollbench/rollbench/internal/run"
	"github.com/rollbench/rollbench/internal/sys"
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
	if p, ok := cmd.(preflighted); ok {
		if err := p.checkBeforeLoading(os.LookupEnv); err != nil {
			return err
		}
	}
	err = cmd.run(ctx, stdout)
	if v, ok := cmd.(interface{ showTracebacks() bool }); ok && v.showTracebacks() {
		printTraceback(stderr, err)
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
		case "score":
			return parseScore(args[1:], stdout)
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
	// Log is the engine log: where the process's standard output and
	// error go (a matrix's experiment process is started with them
	// there), empty when they are rollbench's own.
	Log string `json:"log,omitempty"`
	// AA marks a run of the BF16 configuration a second time (--aa).
	AA bool `json:"aa,omitempty"`
	// Mismatch, when set, adds a scored pass and scores it (--mismatch).
	Mismatch *runner.Scoring `json:"mismatch,omitempty"`
	// Paired, when set, are the engines of a paired experiment (--paired),
	// Spec's rollout their workload.
	Paired []runner.Arm `json:"paired,omitempty"`
}

func (o *offlineOptions) run(ctx context.Context, stdout io.Writer) error {
	o.named()
	return runSingle(ctx, o.python, o.outputDir, o.experiment(), stdout)
}

func (o *onlineOptions) run(ctx context.Context, stdout io.Writer) error {
	o.named()
	return runSingle(ctx, o.python, o.outputDir, o.experiment(), stdout)
}

// runSingle runs one experiment from this process, holding its name in
// outputDir, saves its result and prints its summary.
func runSingle(ctx context.Context, python, outputDir string, x experiment, stdout io.Writer) error {
	lock, err := result.Acquire(outputDir, x.Name)
	if err != nil {
		return err
	}
	defer lock.Release()
	// After the lock: a run refused for the name leaves its holder's log.
	if err := toEngineLog(x.Log); err != nil {
		return err
	}
	res, runErr := runExperiment(ctx, nil, python, x)
	if res == nil {
		return logged(fmt.Errorf("%w%s", runErr, logNote(x.Log)), x.Log)
	}
	path, saveErr := result.Save(outputDir, x.Name, res, stdout)
	// The summary follows the last phase's line, not the middle of it.
	progress.From(ctx).Close()
	if measured(res) {
		// The measurement stands, whatever became of its profile or of
		// its file.
		if err := report.Console(stdout, res, shownPath(path)); err != nil {
			return errors.Join(runErr, saveErr, err)
		}
	}
	return afterSave(runErr, saveErr, path, x.Log)
}

// shownPath is where the console says a result saved at path is: path, or
// standard output when result.Save printed it there.
func shownPath(path string) string { return cmp.Or(path, "on standard output, above") }

// afterSave is the error of a run whose result result.Save saved at path:
// the run's, saying where its result and its engine log are, and the
// save's own.
func afterSave(runErr, saveErr error, path, log string) error {
	switch {
	case runErr == nil:
		return saveErr
	case saveErr == nil:
		return logged(fmt.Errorf("%w (result saved to %s%s)", runErr, path, logNote(log)), log)
	}
	return logged(errors.Join(fmt.Errorf("%w%s", runErr, logNote(log)), saveErr), log)
}

// toEngineLog sends this process's standard output and error, and so the
// engine's, to the log file at path, unless path is empty: rollbench's own
// lines go to what main kept of them.
func toEngineLog(path string) error {
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("engine log: %w", err)
	}
	return sys.RedirectOutput(path)
}

// engineLogged is a run's failure whose details are in the engine log: main
// shows the log's last lines after the error line.
type engineLogged struct {
	err error
	log string
}

func (e engineLogged) Error() string { return e.err.Error() }
func (e engineLogged) Unwrap() error { return e.err }

// logged marks err as detailed in the engine log at path, when there are
// both.
func logged(err error, path string) error {
	if err == nil || path == "" {
		return err
	}
	return engineLogged{err, path}
}

// logNote says where the engine log is, for an error line.
func logNote(path string) string {
	if path == "" {
		return ""
	}
	return fmt.Sprintf("; engine log %s", path)
}

// explained adds to a failure the root cause that the engine log at path
// shows, in the error and in the result's record of it.
func explained(err error, h *result.Header, path string) error {
	if err == nil || path == "" {
		return err
	}
	c, ok := enginelog.Explain(err.Error(), path)
	if !ok {
		return err
	}
	if h.Error != "" {
		h.Error += ": " + c.String()
	}
	return fmt.Errorf("%w: %s", err, c)
}

// measured reports whether a result's measurement succeeded, whatever
// became of its profiled pass.
func measured(res any) bool {
	switch r := res.(type) {
	case *result.Offline:
		return r.Status == result.StatusOK
	case *result.Online:
		return r.Status == result.StatusOK
	case *result.Paired:
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

// runExperiment runs one experiment with the python exe, on the built-in
// model where it names no model, and returns its result, failed or not: a
// *result.Offline or a *result.Online, nil when it did not start. An offline
// experiment runs in the embedded interpreter in, started here when nil; an
// online one embeds none and starts its server with the engine's
// environment.
func runExperiment(ctx context.Context, in *interpreter, exe string, x experiment) (any, error) {
	if x.Online == nil && in == nil {
		var err error
		if in, err = startInterpreter(exe, x.engineCoreInProcess()); err != nil {
			return nil, err
		}
		defer finalize(in)
	}
	py, err := prepare(exe)
	if err != nil {
		return nil, err
	}
	if err := builtinModel(ctx, py, &x.Spec.Engine); err != nil {
		return nil, err
	}
	if x.Mismatch != nil && x.Mismatch.Reference.Model == "" {
		ref := workload.Engine{Quant: workload.BF16}
		if err := builtinModel(ctx, py, &ref); err != nil {
			return nil, err
		}
		x.Mismatch.Reference.Model = ref.Model
	}
	if x.Paired != nil {
		return runPairedExperiment(ctx, in, py, x)
	}
	if x.Online != nil {
		// vllm serve, a child, inherits what an engine needs.
		for k, v := range engineEnv(os.LookupEnv, x.engineCoreInProcess()) {
			if err := os.Setenv(k, v); err != nil {
				return nil, fmt.Errorf("environment: %w", err)
			}
		}
		r, err := runner.Online(ctx, py, runner.OnlineExperiment{Name: x.Name, ModelName: x.ModelName, Spec: x.Spec, Options: *x.Online, Log: x.Log})
		if r == nil {
			return nil, err
		}
		r.Rollbench = version
		return r, explained(err, &r.Header, x.Log)
	}
	r, err := runOffline(ctx, in, x)
	if r == nil {
		return nil, err
	}
	r.Rollbench, r.Log = version, x.Log
	return r, explained(err, &r.Header, x.Log)
}

// runPairedExperiment runs a paired experiment in the embedded
// interpreter in, the built-in model's variants written where an arm names
// no model.
func runPairedExperiment(ctx context.Context, in *interpreter, py engine.ChildPython, x experiment) (any, error) {
	arms := slices.Clone(x.Paired)
	for i := range arms {
		if err := builtinModel(ctx, py, &arms[i].Engine); err != nil {
			return nil, err
		}
	}
	x.Paired = arms
	r, err := runPaired(ctx, in, x)
	if r == nil {
		return nil, err
	}
	r.Rollbench, r.Log = version, x.Log
	for i := range r.Arms {
		r.Arms[i].Rollbench, r.Arms[i].Log = version, x.Log
	}
	return r, explained(err, &r.Header, x.Log)
}

// builtinModel points an engine that names no model at the built-in tiny
// model's variant of its quantization, written on first use.
func builtinModel(ctx context.Context, py engine.ChildPython, e *workload.Engine) error {
	if e.Model != "" {
		return nil
	}
	model, err := engine.EnsureTinyModel(ctx, py, cacheDir(), e.Quant)
	if err != nil {
		return err
	}
	e.Model = model
	return nil
}

// prepare installs the Python package the binary ships, for exe to import
// in this process or in a child.
func prepare(exe string) (engine.ChildPython, error) {
	src, err := python.Install(cacheDir())
	if err != nil {
		return engine.ChildPython{}, err
	}
	return engine.ChildPython{Exe: exe, Path: src}, nil
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
		// vLLM names its processes with setproctitle, which by default
		// writes the title over the environment block: the processes'
		// inherited markers would vanish from /proc/PID/environ, where the
		// supervision finds what rollbench started.
		"SPT_NOENV": "1",
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
	py, err := prepare(o.python)
	if err != nil {
		return err
	}
	if err := engine.WriteTinyModel(ctx, py, o.out, o.q); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote the tiny %s model to %s\n", o.q, o.out)
	return nil
}
