package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rollbench/rollbench/internal/loadgen"
	"github.com/rollbench/rollbench/internal/profile"
	runner "github.com/rollbench/rollbench/internal/run"
	"github.com/rollbench/rollbench/workload"
	"github.com/rollbench/rollbench/workload/dataset"
)

// errHelp ends a run that only printed help.
var errHelp = errors.New("help requested")

// offlineOptions is the offline mode's command line, validated once here.
type offlineOptions struct {
	spec      workload.Spec
	python    string
	outputDir string
	name      string
	modelName string
	verbose   bool
	version   bool

	// The matrix: --config and what selects from it.
	config     string
	models     []string
	quants     []string
	modelBase  string
	resume     bool
	timeout    time.Duration
	logDir     string
	diagnostic bool

	// Online mode: vllm serve driven by the Go client.
	online         bool
	mode           string
	maxConcurrency int
	requestRate    float64
	port           int
	saveRequests   bool
	serverTimeout  time.Duration
	serverArgs     []string

	// profile is the profiled pass after the measured one, or nil.
	profile *profile.Plan
}

// experiment describes one run of these options under the given labels.
func (o offlineOptions) experiment(name, modelName string, spec workload.Spec) experiment {
	x := experiment{Name: name, ModelName: modelName, Spec: spec, Profile: forExperiment(o.profile, name)}
	if o.online {
		x.Online = &runner.OnlineOptions{Mode: loadgen.Mode(o.mode), MaxConcurrency: o.maxConcurrency, RequestRate: o.requestRate, Port: o.port,
			ReadyTimeout: o.serverTimeout, ServerArgs: o.serverArgs, LogDir: o.logDir, Profile: x.Profile}
		x.Profile = nil // the server's, not the offline engine's
		if o.saveRequests {
			x.Online.RequestsFile = filepath.Join(o.outputDir, name+".requests.jsonl")
		}
	}
	return x
}

const offlineUsage = `Usage: rollbench-inproc [flags]
       rollbench-inproc --config FILE [--models a,b] [--quants bf16,w8a8] [flags]
       rollbench-inproc --diagnostic [--config FILE]
       rollbench-inproc --online [--max-concurrency 128] [--port 8000] [flags]
       rollbench-inproc --profile [--profile-backend vllm|direct] [flags]
       rollbench-inproc profile --session FILE [flags]
       rollbench-inproc summarize DIR [--markdown | --csv]
       rollbench-inproc tiny-model --out DIR [--quant bf16|w8a8]
       rollbench-inproc mock-server [--port 8000] [--tokens-per-second N]

Measures one RL rollout step (verl's GRPO generation: --num-prompts prompts x
-n samples, submitted together) on vLLM running inside this process, and
writes the result as JSON to --output-dir/NAME.json. Without --model it runs
the built-in tiny model (generated on first use) on whatever device vLLM finds.

With --config it runs every selected model x quantization of a models file,
each in a child process of its own, BF16 first, skipping variants the file
does not configure, and writes summary.txt, summary.csv and summary.md (with
speedups against BF16) next to the results.

--online starts vllm serve with the same engine arguments instead, drives it
with rollbench's Go streaming client (every sample its own request, all
submitted at once, at most --max-concurrency in flight) and reports TTFT,
TPOT, ITL and E2EL; the server is stopped afterwards, also on Ctrl-C.

--diagnostic checks the setup: the first configured model's BF16 checkpoint
(the tiny model without --config), the interpreter, vllm, a 4-prompt run, the
saved result.

Flags:
`

func parseOffline(args []string, stdout io.Writer) (offlineOptions, error) {
	o := offlineOptions{spec: workload.Default()}
	r, e := &o.spec.Rollout, &o.spec.Engine
	fs := pflag.NewFlagSet("rollbench-inproc", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false

	var quant, kvCache, datasetPath, truncation, mode, lengthDist, preset string
	var filterOverlong bool
	fs.StringVar(&e.Model, "model", "", "model directory (Hugging Face layout); default: the built-in tiny model")
	fs.StringVar(&quant, "quant", "bf16", "checkpoint variant the model directory holds: bf16, w8a16 or w8a8")
	fs.IntVar(&r.NumPrompts, "num-prompts", r.NumPrompts, "prompts in the step (per device: train batch / data-parallel size)")
	fs.IntVarP(&r.N, "n", "n", r.N, "samples per prompt (GRPO group size)")
	fs.IntVar(&r.InputLen, "input-len", r.InputLen, "prompt length in tokens (every prompt has exactly this many; with --dataset, the most a prompt may have: verl's max_prompt_length)")
	fs.IntVar(&r.OutputLen, "output-len", r.OutputLen, "response length in tokens (every sample generates exactly this many: ignore_eos)")
	fs.StringVar(&mode, "rollout-mode", string(workload.Sync), "sync: one LLM.generate with n per prompt (legacy verl); async: every sample its own request (n 1), all submitted at once through the engine's step loop, prefix caching on (current verl)")
	fs.StringVar(&preset, "preset", "", "engine defaults of a known trainer: verl-async (async mode, max-num-seqs 256, max_num_batched_tokens 8192, chunked prefill, prefix caching, verl's max_tokens rule); explicit flags win")
	fs.StringVar(&lengthDist, "output-len-dist", "", "per-sample response lengths, seeded by --seed: fixed:N, uniform:LO-HI, lognormal:MEDIAN,SIGMA,MAX or file:PATH (one length per line); sets --output-len to the longest; in sync mode every sample becomes its own request (n 1) in the one LLM.generate, to carry its own max_tokens")
	fs.BoolVar(&r.EOS, "eos", false, "let samples stop at end of sequence (no ignore_eos); the result reports the lengths they reached")
	fs.IntVar(&r.WarmupPrompts, "warmup-prompts", r.WarmupPrompts, "prompts in the untimed warm-up generate that runs first (0: none)")
	fs.IntVar(&r.Seed, "seed", r.Seed, "seed of the prompts (or of the draw from --dataset) and of the engine's sampling")
	fs.StringVar(&datasetPath, "dataset", "", "real prompts instead of random token ids: a verl training parquet file (a prompt column of chat messages) or JSONL (a prompt field per line: messages or a string), templated with the model's chat template and drawn with --seed")
	fs.BoolVar(&filterOverlong, "filter-overlong-prompts", false, "with --dataset: drop rows longer than --input-len once templated, before drawing (verl's data.filter_overlong_prompts; off by default, as in verl)")
	fs.StringVar(&truncation, "truncation", string(dataset.TruncateError), "with --dataset: what a drawn prompt longer than --input-len does: error, or is cut keeping its end (left), its start (right) or both ends (middle); verl's data.truncation, with verl's default")
	fs.IntVar(&r.Repeat, "repeat", r.Repeat, "measured passes; above 1 the result has every pass's figures with their mean, std, CV and 95% interval")
	fs.BoolVar(&r.FreshEngine, "fresh-engine", false, "with --repeat: load (and warm up) a new engine for every pass instead of reusing the first")
	fs.Float64Var(&e.GPUMemoryUtilization, "gpu-mem-util", e.GPUMemoryUtilization, "share of device memory vLLM may use, in (0, 1] (on CPU: of host memory)")
	fs.StringVar(&kvCache, "kv-cache-memory", "", "KV cache size such as 2GiB or 512MiB; overrides --gpu-mem-util's sizing")
	fs.IntVar(&e.MaxNumSeqs, "max-num-seqs", e.MaxNumSeqs, "most sequences the engine schedules at once")
	fs.IntVar(&e.MaxModelLen, "max-model-len", e.MaxModelLen, "context length the engine reserves per sequence")
	fs.IntVar(&e.TensorParallelSize, "tensor-parallel-size", e.TensorParallelSize, "devices one engine spans")
	fs.StringVar(&e.Dtype, "dtype", e.Dtype, "activation dtype: auto, bfloat16, float16 or float32")
	fs.BoolVar(&e.EnforceEager, "enforce-eager", e.EnforceEager, "run eagerly, without graph capture or compilation")
	fs.StringVar(&o.outputDir, "output-dir", "benchmark_results", "directory for the result JSON")
	fs.StringVar(&o.name, "name", "", "experiment name, the result's file name (default: MODELDIR_QUANT, tiny_QUANT for the built-in model)")
	fs.StringVar(&o.config, "config", "", "models file (YAML) to run as a matrix of models x quantizations; see configs/")
	fs.StringSliceVar(&o.models, "models", nil, "with --config: models to run, comma-separated (default: all)")
	fs.StringSliceVar(&o.quants, "quants", nil, "with --config: quantizations to run, comma-separated (default: bf16,w8a16,w8a8)")
	fs.StringVar(&o.modelBase, "model-base", os.Getenv("ROLLBENCH_MODEL_BASE"), "with --config: directory relative model paths are under (default: $ROLLBENCH_MODEL_BASE, else the file's model_base)")
	fs.BoolVar(&o.resume, "resume", false, "with --config: keep results that are already complete instead of running them again")
	fs.DurationVar(&o.timeout, "timeout", time.Hour, "with --config: time limit of each experiment")
	fs.StringVar(&o.logDir, "log-dir", "benchmark_logs", "with --config or --online: directory for each experiment's and server's log (the engine's output)")
	fs.BoolVar(&o.online, "online", false, "start vllm serve with the same engine arguments and measure it over HTTP (TTFT, TPOT, ITL, E2EL)")
	fs.StringVar(&o.mode, "request-shape", string(loadgen.PerSample), "with --online: per-sample (every sample its own request, as verl sends them) or n-in-request")
	fs.IntVar(&o.maxConcurrency, "max-concurrency", loadgen.DefaultMaxConcurrency, "with --online: most requests in flight")
	fs.Float64Var(&o.requestRate, "request-rate", 0, "with --online: requests per second, arriving as a Poisson process seeded by --seed (as vllm bench serve's --request-rate); 0 or inf: all at once, as the rollout sends them")
	fs.IntVar(&o.port, "port", 8000, "with --online: the server's port on 127.0.0.1 (0: a free one)")
	fs.BoolVar(&o.saveRequests, "save-requests", false, "with --online: also write one JSON line per sample to --output-dir/NAME.requests.jsonl")
	fs.DurationVar(&o.serverTimeout, "server-timeout", 10*time.Minute, "with --online: how long the server may take to become ready")
	fs.StringArrayVar(&o.serverArgs, "server-arg", nil, "with --online: an extra argument for vllm serve (repeatable)")
	fs.BoolVar(&o.diagnostic, "diagnostic", false, "check the setup end to end with a small run and print a checklist")
	fs.StringVar(&o.python, "python", defaultPythonPath(), "python executable whose vLLM to run (the environment it belongs to is used); default: $ROLLBENCH_PYTHON or the one this binary was built with")
	fs.BoolVar(&o.verbose, "verbose", false, "show Python tracebacks of errors")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	profiling := addProfileFlags(fs)
	help := fs.BoolP("help", "h", false, "show this help")

	if err := fs.Parse(args); err != nil {
		return o, usageError{err}
	}
	if *help {
		fmt.Fprint(stdout, offlineUsage)
		fmt.Fprint(stdout, fs.FlagUsages())
		return o, errHelp
	}
	if o.version {
		return o, nil
	}
	if fs.NArg() > 0 {
		return o, usagef("unexpected argument %q (see --help)", fs.Arg(0))
	}
	q, err := workload.ParseQuantization(quant)
	if err != nil {
		return o, usagef("--quant: %v", err)
	}
	if o.config != "" && fs.Changed("model") {
		return o, usagef("--model and --config exclude each other: the config names the models")
	}
	if o.config == "" && !o.diagnostic {
		for _, f := range []string{"models", "quants", "model-base", "resume", "timeout"} {
			if fs.Changed(f) {
				return o, usagef("--%s needs --config", f)
			}
		}
	}
	if !o.online {
		for _, f := range []string{"request-shape", "max-concurrency", "request-rate", "port", "save-requests", "server-timeout", "server-arg"} {
			if fs.Changed(f) {
				return o, usagef("--%s needs --online", f)
			}
		}
	}
	if datasetPath == "" {
		for _, f := range []string{"filter-overlong-prompts", "truncation"} {
			if fs.Changed(f) {
				return o, usagef("--%s needs --dataset", f)
			}
		}
	}
	if o.online {
		for _, f := range []string{"dataset", "repeat", "fresh-engine"} {
			if fs.Changed(f) {
				return o, usagef("--%s is offline only; leave out --online", f)
			}
		}
	}
	if fs.Changed("fresh-engine") && r.Repeat < 2 {
		return o, usagef("--fresh-engine needs --repeat 2 or more")
	}
	if o.online {
		for _, f := range []string{"rollout-mode", "preset", "output-len-dist", "eos"} {
			if fs.Changed(f) {
				return o, usagef("--%s shapes the offline rollout; leave out --online (see --request-shape)", f)
			}
		}
	}
	if o.online && o.diagnostic {
		return o, usagef("--diagnostic checks the offline path; leave out --online")
	}
	if m := loadgen.Mode(o.mode); m != loadgen.PerSample && m != loadgen.NInRequest {
		return o, usagef("--request-shape must be %s or %s, got %q", loadgen.PerSample, loadgen.NInRequest, o.mode)
	}
	if o.maxConcurrency < 1 {
		return o, usagef("--max-concurrency must be at least 1, got %d", o.maxConcurrency)
	}
	if o.requestRate < 0 || math.IsNaN(o.requestRate) {
		return o, usagef("--request-rate must be a rate per second (0 or inf: all at once), got %g", o.requestRate)
	}
	if math.IsInf(o.requestRate, 1) {
		o.requestRate = 0 // the same thing, and JSON has no infinity
	}
	if o.port < 0 || o.port > 65535 {
		return o, usagef("--port must be in 0..65535, got %d", o.port)
	}
	if o.serverTimeout <= 0 {
		return o, usagef("--server-timeout must be positive, got %s", o.serverTimeout)
	}
	for _, f := range []string{"models", "quants"} {
		if v, _ := fs.GetStringSlice(f); fs.Changed(f) && len(v) == 0 {
			return o, usagef("--%s selects nothing", f)
		}
	}
	if o.timeout <= 0 {
		return o, usagef("--timeout must be positive, got %s", o.timeout)
	}
	if o.profile, err = profiling.plan(fs, o.online); err != nil {
		return o, err
	}
	if o.profile != nil && o.diagnostic {
		return o, usagef("--profile does not apply to --diagnostic")
	}
	e.Quant = q
	if err := applyRollout(&o.spec, fs, mode, preset, lengthDist); err != nil {
		return o, err
	}
	if kvCache != "" {
		if e.KVCacheMemoryBytes, err = parseBytes(kvCache); err != nil {
			return o, usagef("--kv-cache-memory: %v", err)
		}
	}
	if datasetPath != "" {
		r.Dataset = &workload.Dataset{Path: datasetPath, Handling: dataset.Handling{FilterOverlong: filterOverlong, Truncation: dataset.Truncation(truncation)}}
	}
	if err := o.spec.Validate(); err != nil {
		return o, usageError{err}
	}
	if r.Dataset != nil {
		// Read once here so that a file without prompts is a usage error
		// before anything loads; the experiment reads it again.
		if r.Dataset.Path, err = filepath.Abs(datasetPath); err != nil {
			return o, usagef("--dataset: %v", err)
		}
		if _, err := dataset.Read(datasetPath); err != nil {
			return o, usageError{err}
		}
	}
	if e.Model != "" { // else the built-in model, resolved once the interpreter runs
		if e.Model, err = filepath.Abs(e.Model); err != nil {
			return o, usagef("--model: %v", err)
		}
		if err := workload.CheckModel(e.Model, q); err != nil {
			return o, usagef("--model %w", err)
		}
		o.modelName = filepath.Base(e.Model)
	}
	if o.python == "" {
		return o, usagef("--python: no interpreter given, and this binary was built without a default")
	}
	return o, nil
}

func defaultPythonPath() string {
	if p := os.Getenv("ROLLBENCH_PYTHON"); p != "" {
		return p
	}
	return defaultPython
}

// parseBytes reads a size in bytes, with an optional binary (KiB, MiB, GiB)
// or decimal (KB, MB, GB) unit.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		scale  int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, scale := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, scale = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.scale
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive size such as 2GiB", s)
	}
	return int64(v * float64(scale)), nil
}

// applyRollout sets the rollout shape: the preset's defaults where no flag
// was given, the mode, and the response length distribution.
func applyRollout(spec *workload.Spec, fs *pflag.FlagSet, mode, preset, lengthDist string) error {
	r, e := &spec.Rollout, &spec.Engine
	switch preset {
	case "":
	case runner.PresetVerlAsync:
		r.Preset, r.VerlMaxTokens = preset, true
		if !fs.Changed("rollout-mode") {
			mode = string(workload.Async)
		}
		if !fs.Changed("max-num-seqs") {
			e.MaxNumSeqs = 256
		}
	default:
		return usagef("--preset must be %s, got %q", runner.PresetVerlAsync, preset)
	}
	r.Mode = workload.Mode(mode)
	if lengthDist == "" {
		return nil
	}
	if fs.Changed("output-len") {
		return usagef("--output-len and --output-len-dist exclude each other: the distribution's longest length is the response length")
	}
	d, err := workload.ParseLengthDist(lengthDist)
	if err != nil {
		return usagef("--output-len-dist: %v", err)
	}
	r.Lengths, r.OutputLen = &d, d.Max
	return nil
}
