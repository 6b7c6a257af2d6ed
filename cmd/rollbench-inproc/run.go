package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/loadgen"
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/result"
	runner "github.com/rollbench/rollbench/internal/run"
	"github.com/rollbench/rollbench/python"
	"github.com/rollbench/rollbench/workload"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "tiny-model":
			return runTinyModel(ctx, args[1:], stdout)
		case "summarize":
			return runSummarize(args[1:], stdout)
		case "run-experiment":
			return runExperiment(ctx, args[1:])
		case "mock-server":
			return runMockServer(ctx, args[1:], stdout)
		case "profile":
			return runProfileSession(ctx, args[1:], stdout)
		}
	}
	o, err := parseOffline(args, stdout)
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintln(stdout, "rollbench-inproc", version)
		return nil
	}
	switch {
	case o.diagnostic:
		err = runDiagnostic(ctx, o, stdout)
	case o.config != "":
		err = runMatrix(ctx, o, stdout)
	default:
		err = runSingle(ctx, o, stdout)
	}
	if o.verbose {
		printTraceback(stderr, err)
	}
	return err
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

func runSingle(ctx context.Context, o offlineOptions, stdout io.Writer) error {
	if o.spec.Engine.Model == "" {
		o.modelName = "tiny"
	}
	if o.name == "" {
		o.name = o.modelName + "_" + string(o.spec.Engine.Quant)
	}
	path := filepath.Join(o.outputDir, o.name+".json")
	res, err := runAndSave(ctx, nil, o.python, o.experiment(o.name, o.modelName, o.spec), path)
	if err != nil {
		if res != nil {
			if measured(res) {
				printSummary(stdout, res, path) // the measurement stands; its profile failed
			}
			return fmt.Errorf("%w (result saved to %s)", err, path)
		}
		return err
	}
	printSummary(stdout, res, path)
	return nil
}

// runAndSave runs one experiment with the python exe, on the built-in model
// where it names no model, and saves its result, failed or not, at path: a
// *result.Offline or a *result.Online. An offline experiment runs in the
// embedded interpreter in, started here when nil; an online one embeds none.
func runAndSave(ctx context.Context, in *interpreter, exe string, x experiment, path string) (any, error) {
	if x.Online == nil && in == nil {
		var err error
		if in, err = startInterpreter(exe); err != nil {
			return nil, err
		}
		defer finalize(in)
	}
	py, err := prepare(exe)
	if err != nil {
		return nil, err
	}
	if x.Spec.Engine.Model == "" {
		model, err := engine.EnsureTinyModel(ctx, py, cacheDir(), x.Spec.Engine.Quant)
		if err != nil {
			return nil, err
		}
		x.Spec.Engine.Model = model
	}
	var res any
	var runErr error
	if x.Online != nil {
		r, err := runner.Online(ctx, py, runner.OnlineExperiment{Name: x.Name, ModelName: x.ModelName, Spec: x.Spec, Options: *x.Online})
		if r == nil {
			return nil, err
		}
		r.Rollbench, res, runErr = version, r, err
	} else {
		r, err := runOffline(ctx, in, x)
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

// prepare sets what an engine needs in the environment and installs the
// Python package the binary ships, for exe to import.
func prepare(exe string) (engine.ChildPython, error) {
	setEngineEnv()
	src, err := python.Install(cacheDir())
	if err != nil {
		return engine.ChildPython{}, err
	}
	return engine.ChildPython{Exe: exe, Path: src}, nil
}

// setEngineEnv sets what an embedded engine needs, unless the user chose.
func setEngineEnv() {
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
	for k, v := range defaults {
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
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

func printSummary(w io.Writer, res any, path string) {
	switch r := res.(type) {
	case *result.Offline:
		s, env := r.Spec, r.Environment
		fmt.Fprintf(w, "%s: %d prompts x n=%d, %d+%d tokens, on %s (%s) with vllm %s\n",
			r.Name, s.Rollout.NumPrompts, s.Rollout.N, s.Rollout.InputLen, s.Rollout.OutputLen,
			env.Platform, env.DeviceName, env.VLLM)
		fmt.Fprintf(w, "  generate    %.3f s  (load %.1f s, warm-up %.1f s, teardown %.1f s)\n",
			r.Timings.Generate, r.Timings.Load, r.Timings.Warmup, r.Timings.Teardown)
		t := r.Throughput
		fmt.Fprintf(w, "  throughput  %.1f output tok/s, %.1f total tok/s, %.2f req/s, %.2f seq/s\n",
			t.OutputTokensPerSecond, t.TotalTokensPerSecond, t.RequestsPerSecond, t.SequencesPerSecond)
		fmt.Fprintf(w, "  tokens      %d prompt, %d output over %d sequences (finish: %s)\n",
			r.Tokens.PromptTokens, r.Tokens.OutputTokens, r.Tokens.Sequences, finishReasons(r.Tokens.FinishReasons))
		printDataset(w, r.Dataset)
		printConfidence(w, r.Confidence)
		if tl := r.Timeline; tl != nil {
			fmt.Fprintf(w, "  timeline    %s: makespan %.3f s, 90%% done at %.3f s, tail share %.1f%% (output lengths %g..%g, median %g)\n",
				r.RolloutMode, tl.MakespanS, tl.DoneS.P90, 100*tl.TailShare, r.Tokens.OutputLen.Min, r.Tokens.OutputLen.Max, r.Tokens.OutputLen.Median)
			for _, c := range tl.Caveats {
				fmt.Fprintf(w, "  note        %s\n", c)
			}
		}
		printTail(w, r.Warnings, path)
		printProfile(w, r.Profile)
	case *result.Online:
		s, m := r.Spec, r.Metrics
		fmt.Fprintf(w, "%s (online, %s, concurrency %d): %d prompts x n=%d, %d+%d tokens, on %s with vllm %s\n",
			r.Name, r.Client.Mode, m.MaxConcurrency, s.Rollout.NumPrompts, s.Rollout.N, s.Rollout.InputLen, s.Rollout.OutputLen,
			r.Environment.Platform, r.Environment.VLLM)
		fmt.Fprintf(w, "  run         %.3f s, %d of %d requests completed  (server start %.1f s, warm-up %.1f s)\n",
			m.DurationS, m.CompletedRequests, m.Requests, r.Timings.ServerStart, r.Timings.Warmup)
		fmt.Fprintf(w, "  throughput  %.1f output tok/s, %.1f total tok/s, %.2f req/s\n", m.OutputThroughput, m.TotalTokenThroughput, m.RequestThroughput)
		for _, l := range []struct {
			name string
			s    loadgen.Summary
		}{{"TTFT", m.TTFT}, {"TPOT", m.TPOT}, {"ITL", m.ITL}, {"E2EL", m.E2EL}} {
			fmt.Fprintf(w, "  %-11s mean %.2f ms, median %.2f, p99 %.2f\n", l.name, l.s.Mean, l.s.Median, l.s.P99)
		}
		printTail(w, append(r.Warnings, m.Notes...), path)
		printProfile(w, r.Profile)
	}
}

func printTail(w io.Writer, warnings []string, path string) {
	for _, warn := range warnings {
		fmt.Fprintf(w, "  warning     %s\n", warn)
	}
	fmt.Fprintf(w, "  result      %s\n", path)
}

func finishReasons(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

const tinyModelUsage = `Usage: rollbench-inproc tiny-model --out DIR [--quant bf16|w8a8]

Writes the built-in tiny Qwen3 model (random weights from a fixed seed, a
tokenizer trained on a corpus shipped in the binary) to DIR. The same
version of rollbench always writes the same bytes.

Flags:
`

func runTinyModel(ctx context.Context, args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("tiny-model", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "directory to write the model to (created)")
	quant := fs.String("quant", "bf16", "variant: bf16, or w8a8 (int8 compressed-tensors)")
	pythonPath := fs.String("python", defaultPythonPath(), "python executable with torch, tokenizers and safetensors")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("tiny-model: %w", err)}
	}
	if *help {
		fmt.Fprint(stdout, tinyModelUsage+fs.FlagUsages())
		return errHelp
	}
	if *out == "" {
		return usagef("tiny-model: --out is required")
	}
	q, err := workload.ParseQuantization(*quant)
	if err != nil {
		return usagef("tiny-model --quant: %v", err)
	}
	py, err := prepare(*pythonPath)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if err := engine.WriteTinyModel(ctx, py, dir, q); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote the tiny %s model to %s\n", q, dir)
	return nil
}
