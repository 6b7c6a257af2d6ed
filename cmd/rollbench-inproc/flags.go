package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rollbench/rollbench/internal/loadgen"
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/workload"
	"github.com/rollbench/rollbench/workload/dataset"
)

// errHelp ends a run that only printed help.
var errHelp = errors.New("help requested")

// command is one mode's options, filled from the command line: checked
// once by Validate, then run.
type command interface {
	Validate() error
	run(ctx context.Context, stdout io.Writer) error
}

// section is a group of flags in --help.
type section struct {
	title string
	fs    *pflag.FlagSet
}

func newSection(title string) section {
	fs := pflag.NewFlagSet(title, pflag.ContinueOnError)
	fs.SortFlags = false
	return section{title, fs}
}

// flagSet joins the sections into the one set the command line is parsed
// with.
func flagSet(name string, sections []section) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	for _, s := range sections {
		fs.AddFlagSet(s.fs)
	}
	return fs
}

// changed lists the flags the command line set, in its order.
func changed(fs *pflag.FlagSet) given {
	var g given
	fs.Visit(func(f *pflag.Flag) { g = append(g, f.Name) })
	return g
}

const mainUsage = `Usage: rollbench-inproc [flags]
       rollbench-inproc --config FILE [--models a,b] [--quants bf16,w8a8] [flags]
       rollbench-inproc --diagnostic [--config FILE]
       rollbench-inproc --online [--max-concurrency 128] [--port 8000] [flags]
       rollbench-inproc --profile [--profile-backend vllm|direct] [flags]
       rollbench-inproc profile --session FILE [flags]
       rollbench-inproc --mismatch [--reference hf|vllm] [--reference-model DIR] [flags]
       rollbench-inproc score --samples FILE [--reference-model DIR]
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

--mismatch adds what a quantized rollout costs: a scored pass with the
sampled tokens' log-probs after the measured ones, scored by the BF16
reference with verl's mismatch metrics (k3_kl, rollout_probs_diff_max, ...);
score rescores its samples file later, elsewhere.

--diagnostic checks the setup: the first configured model's BF16 checkpoint
(the tiny model without --config), the interpreter, vllm, a 4-prompt run, the
saved result.
`

// mainLine is the main command line before a mode is chosen: every flag of
// every mode that loads an engine.
type mainLine struct {
	engine     engineOptions
	profile    profileOptions
	mismatch   mismatchOptions
	client     clientOptions
	selection  selection
	online     bool
	diagnostic bool
	version    bool
	help       bool
}

func mainSections(m *mainLine) []section {
	e, r := &m.engine, &m.engine.spec.Rollout
	eng := &m.engine.spec.Engine
	wl := newSection("Workload")
	fs := wl.fs
	fs.IntVar(&r.NumPrompts, "num-prompts", r.NumPrompts, "prompts in the step: per device (train batch / data-parallel size) for one engine, the whole step's (verl's train_batch_size) with --data-parallel-size")
	fs.IntVarP(&r.N, "n", "n", r.N, "samples per prompt (GRPO group size)")
	fs.IntVar(&r.InputLen, "input-len", r.InputLen, "prompt length in tokens (every prompt has exactly this many; with --dataset, the most a prompt may have: verl's max_prompt_length)")
	fs.IntVar(&r.OutputLen, "output-len", r.OutputLen, "response length in tokens (every sample generates exactly this many: ignore_eos)")
	fs.StringVar(&e.rolloutMode, "rollout-mode", string(workload.Sync), "sync: one LLM.generate with n per prompt (legacy verl); async: every sample its own request (n 1), all submitted at once through the engine's step loop, prefix caching on (current verl)")
	fs.StringVar(&e.preset, "preset", "", "engine defaults of a known trainer: "+workload.PresetVerlAsync+" (async mode, max-num-seqs 256, max_num_batched_tokens 8192, chunked prefill, prefix caching, verl's max_tokens rule); explicit flags win")
	fs.StringVar(&e.lengthDist, "output-len-dist", "", "per-sample response lengths, seeded by --seed: fixed:N, uniform:LO-HI, lognormal:MEDIAN,SIGMA,MAX or file:PATH (one length per line); sets --output-len to the longest; in sync mode every sample becomes its own request (n 1) in the one LLM.generate, to carry its own max_tokens")
	fs.BoolVar(&r.EOS, "eos", false, "let samples stop at end of sequence (no ignore_eos); the result reports the lengths they reached")
	fs.IntVar(&r.WarmupPrompts, "warmup-prompts", r.WarmupPrompts, "prompts in the untimed warm-up generate that runs first (0: none)")
	fs.IntVar(&r.Seed, "seed", r.Seed, "seed of the prompts (or of the draw from --dataset) and of the engine's sampling")
	fs.StringVar(&e.dataset, "dataset", "", "real prompts instead of random token ids: a verl training parquet file (a prompt column of chat messages) or JSONL (a prompt field per line: messages or a string), templated with the model's chat template and drawn with --seed")
	fs.BoolVar(&e.filterOverlong, "filter-overlong-prompts", false, "with --dataset: drop rows longer than --input-len once templated, before drawing (verl's data.filter_overlong_prompts; off by default, as in verl)")
	fs.StringVar(&e.truncation, "truncation", string(dataset.TruncateError), "with --dataset: what a drawn prompt longer than --input-len does: error, or is cut keeping its end (left), its start (right) or both ends (middle); verl's data.truncation, with verl's default")
	fs.Var(repeatValue{&r.Repeat, &e.repeatAuto}, "repeat", "measured passes, or auto: as many as it takes for the 95% interval of the headline figure to be within --target-ci of it, at most --max-repeat; above 1 the result has every pass's figures with their mean, std, CV and interval (with --paired: rounds, default 5)")
	fs.Float64Var(&e.targetCI, "target-ci", 0.02, "with --repeat auto: stop once the headline interval's half width is within this share of its figure (output tok/s; with --paired, every speedup)")
	fs.IntVar(&e.maxRepeat, "max-repeat", 20, "with --repeat auto: the most passes (with --paired: rounds)")
	fs.BoolVar(&r.FreshEngine, "fresh-engine", false, "with --repeat: load (and warm up) a new engine for every pass instead of reusing the first")

	en := newSection("Engine")
	fs = en.fs
	fs.StringVar(&eng.Model, "model", "", "model directory (Hugging Face layout); default: the built-in tiny model")
	fs.StringVar(&e.quant, "quant", "bf16", "checkpoint variant the model directory holds: bf16, w8a16 or w8a8")
	fs.Float64Var(&eng.GPUMemoryUtilization, "gpu-mem-util", eng.GPUMemoryUtilization, "share of device memory vLLM may use, in (0, 1] (on CPU: of host memory)")
	fs.StringVar(&e.kvCache, "kv-cache-memory", "", "KV cache size such as 2GiB or 512MiB; overrides --gpu-mem-util's sizing")
	fs.IntVar(&eng.MaxNumSeqs, "max-num-seqs", eng.MaxNumSeqs, "most sequences the engine schedules at once")
	fs.IntVar(&eng.MaxModelLen, "max-model-len", eng.MaxModelLen, "context length the engine reserves per sequence")
	fs.IntVar(&eng.TensorParallelSize, "tensor-parallel-size", eng.TensorParallelSize, "devices one engine spans")
	fs.StringVar(&eng.Dtype, "dtype", eng.Dtype, "activation dtype: auto, bfloat16, float16 or float32")
	fs.BoolVar(&eng.EnforceEager, "enforce-eager", eng.EnforceEager, "run eagerly, without graph capture or compilation")
	fs.StringVar(&e.python, "python", defaultPythonPath(), "python executable whose vLLM to run (the environment it belongs to is used); default: $ROLLBENCH_PYTHON or the one this binary was built with")

	mx := newSection("Matrix (--config)")
	fs = mx.fs
	s := &m.selection
	fs.StringVar(&s.config, "config", "", "models file (YAML) to run as a matrix of models x quantizations; see configs/")
	fs.StringSliceVar(&s.models, "models", nil, "with --config: models to run, comma-separated (default: all)")
	fs.StringSliceVar(&s.quants, "quants", nil, "with --config: quantizations to run, comma-separated (default: bf16,w8a16,w8a8)")
	fs.StringVar(&s.modelBase, "model-base", os.Getenv("ROLLBENCH_MODEL_BASE"), "with --config: directory relative model paths are under (default: $ROLLBENCH_MODEL_BASE, else the file's model_base)")
	fs.BoolVar(&s.resume, "resume", false, "with --config: keep results that are already complete instead of running them again")
	fs.DurationVar(&s.timeout, "timeout", time.Hour, "with --config: time limit of each experiment")
	fs.BoolVar(&s.paired, "paired", false, "with --config: load each model's bf16 and quantized engines side by side in one experiment process, each with its own --gpu-mem-util or --kv-cache-memory, and measure them in alternating rounds (A B, B A, ...) on the same prompts; speedups come from the per-round ratios")
	fs.BoolVar(&s.aa, "aa", false, "with --config: measure each model's bf16 a second time as its own row, bf16 (A/A), whose interval is the spread this machine makes of no difference; a speedup whose interval overlaps it is marked ~ (default on with --paired)")

	on := newSection("Online (--online)")
	fs = on.fs
	c := &m.client
	fs.BoolVar(&m.online, "online", false, "start vllm serve with the same engine arguments and measure it over HTTP (TTFT, TPOT, ITL, E2EL)")
	fs.StringVar(&c.mode, "request-shape", string(loadgen.PerSample), "with --online: per-sample (every sample its own request, as verl sends them) or n-in-request")
	fs.IntVar(&c.maxConcurrency, "max-concurrency", loadgen.DefaultMaxConcurrency, "with --online: most requests in flight")
	fs.Float64Var(&c.requestRate, "request-rate", 0, "with --online: requests per second, arriving as a Poisson process seeded by --seed (as vllm bench serve's --request-rate); 0 or inf: all at once, as the rollout sends them")
	fs.IntVar(&c.port, "port", 8000, "with --online: the server's port on 127.0.0.1 (0: a free one)")
	fs.BoolVar(&c.saveRequests, "save-requests", false, "with --online: also write one JSON line per sample to --output-dir/NAME.requests.jsonl")
	fs.DurationVar(&c.serverTimeout, "server-timeout", 10*time.Minute, "with --online: how long the server may take to become ready")
	fs.StringArrayVar(&c.serverArgs, "server-arg", nil, "with --online: an extra argument for vllm serve (repeatable)")

	pr := newSection("Profiling (--profile)")
	fs = pr.fs
	p := &m.profile
	p.options = profile.Defaults()
	p.multiprocessing, p.multiprocessingSet = os.LookupEnv(multiprocessingKey)
	fs.BoolVar(&p.on, "profile", false, "after the measured pass, run a separate profiled pass and write its traces to --profile-dir/NAME/ (default off: no profiling; the measured numbers never include the profiled pass)")
	fs.BoolVar(&p.off, "no-profile", false, "run no profiled pass (the default; the original toolkit's flag)")
	fs.StringVar(&p.backend, "profile-backend", string(profile.VLLM), "vllm (the engine's profiler_config with start_profile/stop_profile; torch_npu's profiler on Ascend) or direct (torch.profiler or torch_npu.profiler around the profiled generate in this process; runs vLLM's engine core in this process for the whole experiment)")
	fs.StringVar(&p.dir, "profile-dir", "benchmark_profiles", "directory the traces go to, in a subdirectory per experiment")
	fs.IntVar(&p.shape.NumPrompts, "profile-num-prompts", 0, "prompts in the profiled generate (0: --num-prompts)")
	fs.IntVar(&p.shape.N, "profile-n", 0, "samples per prompt in the profiled generate (0: -n)")
	fs.IntVar(&p.shape.InputLen, "profile-input-len", 0, "prompt length of the profiled generate (0: --input-len)")
	fs.IntVar(&p.shape.OutputLen, "profile-output-len", 0, "response length of the profiled generate (0: --output-len)")
	fs.StringSliceVar(&p.options.Activities, "profile-activities", p.options.Activities, "what the profiler records, comma-separated: cpu, cuda, npu")
	fs.BoolVar(&p.options.RecordShapes, "profile-record-shapes", false, "record operators' input shapes")
	fs.BoolVar(&p.options.WithStack, "profile-with-stack", false, "record Python stacks (large traces)")
	fs.StringVar(&p.options.NPULevel, "profile-npu-level", "", "with --profile-backend direct and npu activity: torch_npu's profiler level ("+strings.Join(profile.NPULevels, ", ")+")")
	fs.StringVar(&p.options.AICMetrics, "profile-aic-metrics", "", "with --profile-backend direct and npu activity: torch_npu's AI Core metrics ("+strings.Join(profile.AICMetrics, ", ")+")")
	fs.IntVar(&p.top, "profile-top", 15, "operators each trace's report lists")

	rp := newSection("Replicas on Ray (--data-parallel-size)")
	m.engine.replicas.register(rp.fs)

	mm := newSection("Mismatch (--mismatch)")
	m.mismatch.register(mm.fs)

	out := newSection("Output")
	fs = out.fs
	fs.StringVar(&e.outputDir, "output-dir", "benchmark_results", "directory for the result JSON")
	fs.StringVar(&e.name, "name", "", "experiment name, the result's file name (default: MODELDIR_QUANT, tiny_QUANT for the built-in model)")
	fs.StringVar(&e.logDir, "log-dir", "benchmark_logs", "directory for each run's engine log, NAME.log: what vLLM and its processes print (with --config, one per experiment)")
	fs.StringVar(&e.engineLog, "engine-log", "", "the engine log's file instead of --log-dir/NAME.log, or - to show the engine's output live on standard error")
	fs.BoolVar(&e.verbose, "verbose", false, "show Python tracebacks of errors, and the engine's output live (as --engine-log -) unless --engine-log names a file")

	other := newSection("Other")
	fs = other.fs
	fs.BoolVar(&m.diagnostic, "diagnostic", false, "check the setup end to end with a small run and print a checklist")
	fs.BoolVar(&m.version, "version", false, "print the version and exit")
	fs.BoolVarP(&m.help, "help", "h", false, "show this help")
	return []section{wl, en, rp, mx, on, pr, mm, out, other}
}

// parseMain reads the main command line and returns the options of the
// mode it selects: a diagnostic, a matrix, an online run or a plain
// offline run. With --help it prints the help to stdout.
func parseMain(args []string, stdout io.Writer) (command, error) {
	m := &mainLine{engine: engineOptions{spec: workload.Default()}}
	sections := mainSections(m)
	fs := flagSet("rollbench-inproc", sections)
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	if m.help {
		fmt.Fprint(stdout, mainUsage)
		fmt.Fprint(stdout, usages(sections))
		return nil, errHelp
	}
	if m.version {
		return versionCommand{}, nil
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (see --help)", fs.Arg(0))
	}
	g := changed(fs)
	m.engine.given, m.profile.given, m.mismatch.given = g, g, g
	switch {
	case m.diagnostic:
		return &diagnosticOptions{engineOptions: m.engine, selection: m.selection, online: m.online, profile: m.profile, mismatch: m.mismatch.on}, nil
	case m.selection.config != "":
		o := &matrixOptions{engineOptions: m.engine, selection: m.selection, profile: m.profile, mismatch: m.mismatch}
		if m.online {
			o.online = &m.client
		}
		return o, nil
	case m.online:
		return &onlineOptions{engineOptions: m.engine, client: m.client, profile: m.profile, mismatch: m.mismatch}, nil
	}
	return &offlineOptions{engineOptions: m.engine, profile: m.profile, mismatch: m.mismatch}, nil
}

func defaultPythonPath() string {
	if p := os.Getenv("ROLLBENCH_PYTHON"); p != "" {
		return p
	}
	return defaultPython
}

// parseSubcommand parses a subcommand's flags, shown after usage in
// --help (which it adds), and returns the positional arguments.
func parseSubcommand(name, usage string, args []string, stdout io.Writer, flags section) ([]string, error) {
	wantHelp := flags.fs.BoolP("help", "h", false, "show this help")
	sections := []section{flags}
	fs := flagSet(name, sections)
	if err := fs.Parse(args); err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", name, err)}
	}
	if *wantHelp {
		fmt.Fprint(stdout, usage+usages(sections))
		return nil, errHelp
	}
	return fs.Args(), nil
}

func parseTinyModel(args []string, stdout io.Writer) (command, error) {
	o := &tinyModelOptions{}
	s := newSection("Flags")
	s.fs.StringVar(&o.out, "out", "", "directory to write the model to (created)")
	s.fs.StringVar(&o.quant, "quant", "bf16", "variant: bf16, or w8a8 (int8 compressed-tensors)")
	s.fs.StringVar(&o.python, "python", defaultPythonPath(), "python executable with torch, tokenizers and safetensors")
	_, err := parseSubcommand("tiny-model", tinyModelUsage, args, stdout, s)
	return o, err
}

func parseSummarize(args []string, stdout io.Writer) (command, error) {
	o := &summarizeOptions{}
	s := newSection("Flags")
	s.fs.BoolVar(&o.markdown, "markdown", false, "print the Markdown summary")
	s.fs.BoolVar(&o.csv, "csv", false, "print the CSV summary")
	var err error
	o.args, err = parseSubcommand("summarize", summarizeUsage, args, stdout, s)
	return o, err
}

func parseMockServer(args []string, stdout io.Writer) (command, error) {
	o := &mockServerOptions{}
	s := newSection("Flags")
	s.fs.IntVar(&o.port, "port", 8000, "port on 127.0.0.1 (0: a free one)")
	s.fs.Float64Var(&o.server.TokensPerSecond, "tokens-per-second", 0, "decode pace of each request (0: as fast as possible)")
	s.fs.DurationVar(&o.server.TTFT, "ttft", 0, "wait before each request's first token")
	s.fs.IntVar(&o.server.OutputLen, "output-len", 16, "tokens per choice when a request gives no max_tokens")
	s.fs.StringVar(&o.server.Model, "served-model-name", "", "the only model name accepted (default: any)")
	_, err := parseSubcommand("mock-server", mockServerUsage, args, stdout, s)
	return o, err
}

// parseSession takes --session FILE out of the arguments and parses the
// rest as a plain run's.
func parseSession(args []string, stdout io.Writer) (command, error) {
	o := &sessionOptions{}
	var err error
	if o.file, o.rest, err = takeSession(args); err != nil {
		return nil, err
	}
	if o.file == "" {
		if slices.Contains(o.rest, "--help") || slices.Contains(o.rest, "-h") {
			fmt.Fprint(stdout, sessionUsage)
			return nil, errHelp
		}
		return o, nil // Validate says what is missing
	}
	o.main, err = parseMain(append(o.rest, "--profile"), stdout)
	return o, err
}

// takeSession removes --session and its value from args.
func takeSession(args []string) (string, []string, error) {
	var file string
	var rest []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--session":
			if i+1 >= len(args) {
				return "", nil, usagef("profile: --session needs a file")
			}
			file = args[i+1]
			i++
		case strings.HasPrefix(a, "--session="):
			file = strings.TrimPrefix(a, "--session=")
		default:
			rest = append(rest, a)
		}
	}
	return file, rest, nil
}

// parseExperiment reads the child side of a matrix: one experiment, read
// from a file, with its result written to another. It is not meant to be
// typed, and has no help.
func parseExperiment(args []string) (command, error) {
	o := &experimentOptions{}
	fs := pflag.NewFlagSet("run-experiment", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.file, "experiment", "", "experiment file written by the matrix")
	fs.StringVar(&o.output, "output", "", "result file")
	fs.StringVar(&o.python, "python", defaultPythonPath(), "python executable")
	if err := fs.Parse(args); err != nil {
		return nil, usageError{fmt.Errorf("run-experiment: %w", err)}
	}
	return o, nil
}

// usages formats the sections' flags for --help, aligned in one column:
// like pflag's, but booleans show as plain --flag, without pflag's
// [=true|false].
func usages(sections []section) string {
	type row struct{ left, usage string }
	var rows [][]row
	width := 0
	for _, s := range sections {
		var rs []row
		s.fs.VisitAll(func(f *pflag.Flag) {
			left := "      --" + f.Name
			if f.Shorthand != "" {
				left = "  -" + f.Shorthand + ", --" + f.Name
			}
			varname, usage := pflag.UnquoteUsage(f)
			if varname != "" && f.Value.Type() != "bool" {
				left += " " + varname
			}
			if !zeroDefault(f) {
				if f.Value.Type() == "string" {
					usage += fmt.Sprintf(" (default %q)", f.DefValue)
				} else {
					usage += fmt.Sprintf(" (default %s)", f.DefValue)
				}
			}
			width = max(width, len(left))
			rs = append(rs, row{left, usage})
		})
		rows = append(rows, rs)
	}
	var b strings.Builder
	for i, s := range sections {
		fmt.Fprintf(&b, "\n%s:\n", s.title)
		for _, r := range rows[i] {
			fmt.Fprintf(&b, "%-*s   %s\n", width, r.left, r.usage)
		}
	}
	return b.String()
}

// repeatValue is --repeat: a number of passes, or auto.
type repeatValue struct {
	n    *int
	auto *bool
}

func (v repeatValue) String() string {
	if v.n == nil {
		return ""
	}
	if *v.auto {
		return "auto"
	}
	return strconv.Itoa(*v.n)
}

func (v repeatValue) Set(s string) error {
	if s == "auto" {
		*v.auto = true
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want a number of passes or auto, got %q", s)
	}
	*v.n, *v.auto = n, false
	return nil
}

func (repeatValue) Type() string { return "N|auto" }

// zeroDefault reports whether a flag's default is its type's zero value,
// which --help leaves unsaid.
func zeroDefault(f *pflag.Flag) bool {
	switch f.Value.Type() {
	case "bool":
		return f.DefValue == "false"
	case "string":
		return f.DefValue == ""
	case "stringSlice", "stringArray":
		return f.DefValue == "[]"
	case "duration":
		return f.DefValue == "0s"
	}
	return f.DefValue == "0"
}

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
