package main

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rollbench/rollbench/internal/loadgen"
	"github.com/rollbench/rollbench/internal/profile"
	runner "github.com/rollbench/rollbench/internal/run"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload"
	"github.com/rollbench/rollbench/workload/config"
	"github.com/rollbench/rollbench/workload/dataset"
)

// The options of each mode are filled from the command line by flags.go and
// checked once by their Validate, which also resolves what follows from
// them (the spec, absolute paths, the profiled pass). Nothing here changes
// the environment: what a run needs set there travels in the options to
// where the interpreter starts.

// given are the flags the command line set explicitly, in its order:
// several checks depend on a flag being given, whatever its value.
type given []string

func (g given) has(name string) bool { return slices.Contains(g, name) }

// first returns the first of names that was given.
func (g given) first(names ...string) (string, bool) {
	for _, n := range names {
		if g.has(n) {
			return n, true
		}
	}
	return "", false
}

// firstWithPrefix returns the first flag given whose name starts with
// prefix, in the command line's order.
func (g given) firstWithPrefix(prefix string) (string, bool) {
	for _, n := range g {
		if strings.HasPrefix(n, prefix) {
			return n, true
		}
	}
	return "", false
}

// needs reports the first of names given without the flag they need.
func (g given) needs(what string, names ...string) error {
	if n, ok := g.first(names...); ok {
		return usagef("--%s needs %s", n, what)
	}
	return nil
}

// firstError runs checks in order and returns the first error.
func firstError(checks ...func() error) error {
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// The flags of one mode that others must not be given.
var (
	matrixFlags  = []string{"models", "quants", "model-base", "resume", "timeout", "paired", "aa"}
	onlineFlags  = []string{"request-shape", "max-concurrency", "request-rate", "port", "save-requests", "server-timeout", "server-arg"}
	datasetFlags = []string{"filter-overlong-prompts", "truncation"}
	// offlineFlags measure the in-process rollout; online runs lack them.
	offlineFlags = []string{"dataset", "repeat", "target-ci", "max-repeat", "fresh-engine"}
	shapeFlags   = []string{"rollout-mode", "preset", "output-len-dist", "eos"}
)

// engineOptions are what every mode that loads an engine shares: the
// workload, the engine, the interpreter and where the results go.
type engineOptions struct {
	spec      workload.Spec
	python    string
	outputDir string
	name      string
	verbose   bool
	// logDir holds each run's engine log, NAME.log, unless engineLog
	// names another file, or "-" for this process's standard error.
	logDir, engineLog string
	// modelName labels the model in results: the model directory's name,
	// set by Validate (empty for the built-in model).
	modelName string

	// The flags Validate turns into spec.
	repeatAuto                                      bool
	targetCI                                        float64
	maxRepeat                                       int
	quant, kvCache, rolloutMode, preset, lengthDist string
	dataset, truncation                             string
	filterOverlong                                  bool
	replicas                                        replicaOptions

	given given
}

func (e *engineOptions) checkQuant() error {
	q, err := workload.ParseQuantization(e.quant)
	if err != nil {
		return usagef("--quant: %v", err)
	}
	e.spec.Engine.Quant = q
	return nil
}

func (e *engineOptions) checkDatasetFlags() error {
	if e.dataset == "" {
		return e.given.needs("--dataset", datasetFlags...)
	}
	return nil
}

func (e *engineOptions) checkFreshEngine() error {
	if e.given.has("fresh-engine") && e.spec.Rollout.Repeat < 2 {
		return usagef("--fresh-engine needs --repeat 2 or more")
	}
	return nil
}

// checkRepeat turns --repeat auto into its rule: Repeat becomes the most
// passes, TargetCI the target.
func (e *engineOptions) checkRepeat() error {
	if !e.repeatAuto {
		return e.given.needs("--repeat auto", "target-ci", "max-repeat")
	}
	if _, err := metrics.NewSequential(e.targetCI, e.maxRepeat); err != nil {
		return usagef("--repeat auto: %v (--target-ci, --max-repeat)", err)
	}
	e.spec.Rollout.Repeat, e.spec.Rollout.TargetCI = e.maxRepeat, e.targetCI
	return nil
}

// checkOnline rejects the flags that shape the in-process rollout.
func (e *engineOptions) checkOnline() error {
	if n, ok := e.given.first(offlineFlags...); ok {
		return usagef("--%s is offline only; leave out --online", n)
	}
	if err := e.checkFreshEngine(); err != nil {
		return err
	}
	if n, ok := e.given.first(shapeFlags...); ok {
		return usagef("--%s shapes the offline rollout; leave out --online (see --request-shape)", n)
	}
	return nil
}

// resolve completes the spec from the flags and checks it, the files it
// names included: nothing that fails here gets as far as loading.
func (e *engineOptions) resolve() error {
	spec, r, err := &e.spec, &e.spec.Rollout, error(nil)
	if err := e.applyRollout(); err != nil {
		return err
	}
	if e.kvCache != "" {
		if spec.Engine.KVCacheMemoryBytes, err = parseBytes(e.kvCache); err != nil {
			return usagef("--kv-cache-memory: %v", err)
		}
	}
	if err := e.replicas.apply(spec, e.given); err != nil {
		return err
	}
	if e.dataset != "" {
		r.Dataset = &workload.Dataset{Path: e.dataset, Handling: dataset.Handling{FilterOverlong: e.filterOverlong, Truncation: dataset.Truncation(e.truncation)}}
	}
	if err := spec.Validate(); err != nil {
		return usageError{err}
	}
	if r.Dataset != nil {
		// Read once here so that a file without prompts is a usage error
		// before anything loads; the experiment reads it again.
		if r.Dataset.Path, err = filepath.Abs(e.dataset); err != nil {
			return usagef("--dataset: %v", err)
		}
		if _, err := dataset.Read(e.dataset); err != nil {
			return usageError{err}
		}
	}
	if spec.Engine.Model != "" { // else the built-in model, resolved once the interpreter runs
		if spec.Engine.Model, err = filepath.Abs(spec.Engine.Model); err != nil {
			return usagef("--model: %v", err)
		}
		if err := workload.CheckModel(spec.Engine.Model, spec.Engine.Quant); err != nil {
			return usagef("--model %w", err)
		}
		e.modelName = filepath.Base(spec.Engine.Model)
	}
	if e.python == "" {
		return usagef("--python: no interpreter given, and this binary was built without a default")
	}
	return nil
}

// applyRollout sets the rollout shape: the preset's defaults where no flag
// was given, the mode, and the response length distribution.
func (e *engineOptions) applyRollout() error {
	r := &e.spec.Rollout
	r.Mode = workload.Mode(e.rolloutMode)
	if e.preset != "" {
		p, err := workload.LookupPreset(e.preset)
		if err != nil {
			return usagef("--preset %v", err)
		}
		p.Apply(&e.spec, e.given.has("rollout-mode"), e.given.has("max-num-seqs"))
	}
	if e.lengthDist == "" {
		return nil
	}
	if e.given.has("output-len") {
		return usagef("--output-len and --output-len-dist exclude each other: the distribution's longest length is the response length")
	}
	d, err := workload.ParseLengthDist(e.lengthDist)
	if err != nil {
		return usagef("--output-len-dist: %v", err)
	}
	r.Lengths, r.OutputLen = &d, d.Max
	return nil
}

// named fills in the default labels of a single run once the model is
// known: the built-in model is "tiny", and the result is MODEL_QUANT.
func (e *engineOptions) named() {
	if e.spec.Engine.Model == "" {
		e.modelName = "tiny"
	}
	if e.name == "" {
		e.name = e.modelName + "_" + string(e.spec.Engine.Quant)
	}
}

// checkEngineLog refuses an empty --engine-log, which would name no file.
func (e *engineOptions) checkEngineLog() error {
	if e.given.has("engine-log") && e.engineLog == "" {
		return usagef("--engine-log needs a file, or - for standard error")
	}
	return nil
}

// engineLogPath is where the engine's output goes in the run named name:
// the file --engine-log names, LOG_DIR/NAME.log by default, or "" for this
// process's standard error (--engine-log -, or --verbose without
// --engine-log).
func (e *engineOptions) engineLogPath(name string) string {
	switch {
	case e.engineLog == "-", e.engineLog == "" && e.verbose:
		return ""
	case e.engineLog != "":
		return e.engineLog
	}
	return runner.LogPath(e.logDir, name)
}

// profileOptions are the profiled pass's flags.
type profileOptions struct {
	on, off bool
	backend string
	dir     string
	shape   profile.Shape
	top     int
	options profile.Options
	// multiprocessing is VLLM_ENABLE_V1_MULTIPROCESSING as the environment
	// had it when the command started, and multiprocessingSet whether it
	// was set.
	multiprocessing    string
	multiprocessingSet bool

	given given
	// plan is the pass Validate resolved, nil for none.
	plan *profile.Plan
}

// multiprocessingKey is vLLM's switch for running its engine core in a
// child process.
const multiprocessingKey = "VLLM_ENABLE_V1_MULTIPROCESSING"

// Validate checks the flags and resolves the profiled pass they ask for.
func (p *profileOptions) Validate(online bool) error {
	if p.on && p.off {
		return usagef("--profile and --no-profile exclude each other")
	}
	if !p.on {
		if n, ok := p.given.firstWithPrefix("profile-"); ok {
			return usagef("--%s needs --profile", n)
		}
		return nil
	}
	p.options.Backend = profile.Backend(p.backend)
	if err := p.options.Validate(); err != nil {
		return usagef("--profile-%v", err)
	}
	if online && p.options.Backend != profile.VLLM {
		return usagef("--profile-backend %s profiles this process; with --online the engine runs in vllm serve: use vllm", p.options.Backend)
	}
	sh := p.shape
	if sh.NumPrompts < 0 || sh.N < 0 || sh.InputLen < 0 || sh.OutputLen < 0 {
		return usagef("--profile-num-prompts, --profile-n, --profile-input-len and --profile-output-len must not be negative")
	}
	if p.top < 1 {
		return usagef("--profile-top must be at least 1, got %d", p.top)
	}
	dir, err := filepath.Abs(p.dir)
	if err != nil {
		return usagef("--profile-dir: %v", err)
	}
	inProcess, err := p.engineCoreInProcess(p.options.Backend)
	if err != nil {
		return err
	}
	p.plan = &profile.Plan{Options: p.options, Dir: dir, Steps: profile.OnePass(p.shape), Top: p.top, EngineCoreInProcess: inProcess}
	return nil
}

// engineCoreInProcess says where vLLM's engine core runs: in this process
// for the direct backend, whose profiler sees only this process (the
// interpreter's start sets the variable that puts it there), else where
// the environment puts it.
func (p *profileOptions) engineCoreInProcess(b profile.Backend) (bool, error) {
	if b != profile.Direct {
		return p.multiprocessingSet && p.multiprocessing == "0", nil
	}
	if p.multiprocessingSet && p.multiprocessing != "0" {
		return false, usagef("--profile-backend direct profiles this process only and needs vLLM's engine core in it: unset %s=%s", multiprocessingKey, p.multiprocessing)
	}
	return true, nil
}

// forExperiment places the plan's traces in the experiment's own directory.
func forExperiment(plan *profile.Plan, name string) *profile.Plan {
	if plan == nil {
		return nil
	}
	p := *plan
	p.Dir = filepath.Join(plan.Dir, name)
	return &p
}

// clientOptions are the online mode's client and server flags.
type clientOptions struct {
	mode           string
	maxConcurrency int
	requestRate    float64
	port           int
	saveRequests   bool
	serverTimeout  time.Duration
	serverArgs     []string
}

// Validate checks the values; inf as a rate becomes 0, the same thing,
// since JSON has no infinity.
func (c *clientOptions) Validate() error {
	if m := loadgen.Mode(c.mode); m != loadgen.PerSample && m != loadgen.NInRequest {
		return usagef("--request-shape must be %s or %s, got %q", loadgen.PerSample, loadgen.NInRequest, c.mode)
	}
	if c.maxConcurrency < 1 {
		return usagef("--max-concurrency must be at least 1, got %d", c.maxConcurrency)
	}
	if c.requestRate < 0 || math.IsNaN(c.requestRate) {
		return usagef("--request-rate must be a rate per second (0 or inf: all at once), got %g", c.requestRate)
	}
	if math.IsInf(c.requestRate, 1) {
		c.requestRate = 0
	}
	if c.port < 0 || c.port > 65535 {
		return usagef("--port must be in 0..65535, got %d", c.port)
	}
	if c.serverTimeout <= 0 {
		return usagef("--server-timeout must be positive, got %s", c.serverTimeout)
	}
	return nil
}

// runnerOptions are the options internal/run takes for one experiment.
func (c *clientOptions) runnerOptions(outputDir, name string, plan *profile.Plan) *runner.OnlineOptions {
	o := &runner.OnlineOptions{Mode: loadgen.Mode(c.mode), MaxConcurrency: c.maxConcurrency, RequestRate: c.requestRate, Port: c.port,
		ReadyTimeout: c.serverTimeout, ServerArgs: c.serverArgs, Profile: plan}
	if c.saveRequests {
		o.RequestsFile = filepath.Join(outputDir, name+".requests.jsonl")
	}
	return o
}

// selection is what --config and the flags that go with it choose.
type selection struct {
	config    string
	models    []string
	quants    []string
	modelBase string
	resume    bool
	timeout   time.Duration
	// paired and aa are --paired and --aa.
	paired, aa bool
}

func (s *selection) Validate(g given) error {
	for _, f := range []string{"models", "quants"} {
		if v := map[string][]string{"models": s.models, "quants": s.quants}[f]; g.has(f) && len(v) == 0 {
			return usagef("--%s selects nothing", f)
		}
	}
	if s.timeout <= 0 {
		return usagef("--timeout must be positive, got %s", s.timeout)
	}
	return nil
}

// offlineOptions are a single in-process run's: `rollbench-inproc [flags]`.
type offlineOptions struct {
	engineOptions
	profile  profileOptions
	mismatch mismatchOptions
	// reference is the BF16 checkpoint --mismatch scores against, ""
	// for the built-in model's.
	reference string
}

func (o *offlineOptions) Validate() error {
	g := o.given
	return firstError(o.checkQuant,
		func() error { return g.needs("--config", matrixFlags...) },
		func() error { return g.needs("--online", onlineFlags...) },
		o.checkDatasetFlags, o.checkRepeat, o.checkFreshEngine, o.checkEngineLog,
		func() error { return o.profile.Validate(false) },
		func() error { return o.mismatch.Validate(false) },
		o.checkReplicas,
		o.resolve,
		func() (err error) {
			if o.mismatch.on {
				o.reference, err = o.mismatch.referenceOf(o.spec.Engine.Model, o.spec.Engine.Quant)
			}
			return err
		})
}

// checkReplicas refuses what a data-parallel step does not do yet.
func (o *offlineOptions) checkReplicas() error {
	switch {
	case !o.given.has("data-parallel-size"):
		return o.given.needs("--data-parallel-size", replicaFlags...)
	case o.profile.on:
		return o.replicas.refuse(o.given, "--profile")
	case o.mismatch.on:
		return o.replicas.refuse(o.given, "--mismatch")
	case o.given.has("fresh-engine"):
		return o.replicas.refuse(o.given, "--fresh-engine")
	}
	return nil
}

// experiment is the run these options describe.
func (o *offlineOptions) experiment() experiment {
	return experiment{Name: o.name, ModelName: o.modelName, Spec: o.spec, Profile: forExperiment(o.profile.plan, o.name), Log: o.engineLogPath(o.name),
		Mismatch: o.mismatch.scoring(o.outputDir, o.name, o.reference)}
}

// onlineOptions are a single run through vllm serve: `--online`.
type onlineOptions struct {
	engineOptions
	client   clientOptions
	profile  profileOptions
	mismatch mismatchOptions
}

func (o *onlineOptions) Validate() error {
	return firstError(o.checkQuant,
		func() error { return o.given.needs("--config", matrixFlags...) },
		o.checkDatasetFlags, o.checkOnline, o.checkEngineLog, o.client.Validate,
		func() error { return o.profile.Validate(true) },
		func() error { return o.mismatch.Validate(true) },
		func() error { return o.replicas.refuse(o.given, "--online") },
		o.resolve)
}

func (o *onlineOptions) experiment() experiment {
	plan := forExperiment(o.profile.plan, o.name)
	// The profiled pass is the server's, not an offline engine's.
	return experiment{Name: o.name, ModelName: o.modelName, Spec: o.spec, Online: o.client.runnerOptions(o.outputDir, o.name, plan),
		Log: o.engineLogPath(o.name)}
}

// matrixOptions run every selected model x quantization of a models file:
// `--config FILE`, offline or, with --online, through vllm serve.
type matrixOptions struct {
	engineOptions
	selection selection
	// online is the client's options with --online, else nil.
	online   *clientOptions
	profile  profileOptions
	mismatch mismatchOptions
	// planned are the experiments Validate planned from the file.
	planned []runner.Planned
}

func (o *matrixOptions) Validate() error {
	g := o.given
	online := func() error {
		if o.online == nil {
			return g.needs("--online", onlineFlags...)
		}
		return nil
	}
	onlineValues := func() error {
		if o.online == nil {
			return firstError(o.checkRepeat, o.checkFreshEngine)
		}
		return firstError(o.checkOnline, o.online.Validate)
	}
	return firstError(o.checkQuant,
		func() error {
			if g.has("model") {
				return usagef("--model and --config exclude each other: the config names the models")
			}
			if g.has("engine-log") {
				return usagef("--engine-log does not apply to --config: each experiment's engine log is --log-dir/NAME.log")
			}
			return nil
		},
		online, o.checkDatasetFlags, onlineValues,
		func() error { return o.selection.Validate(g) },
		func() error { return o.profile.Validate(o.online != nil) },
		func() error { return o.mismatch.Validate(o.online != nil) },
		func() error {
			if x := o.replicasExcluded(); x != "" {
				return o.replicas.refuse(g, x)
			}
			return nil
		},
		o.checkPaired, o.resolve, o.plan)
}

// replicasExcluded names what of the command line a data-parallel step
// does not do, "" when nothing is.
func (o *matrixOptions) replicasExcluded() string {
	switch {
	case o.online != nil:
		return "--online"
	case o.mismatch.on:
		return "--mismatch"
	case o.profile.on:
		return "--profile"
	case o.selection.paired:
		return "--paired"
	case o.given.has("fresh-engine"):
		return "--fresh-engine"
	}
	return ""
}

// checkModelReplicas holds the experiments a model's data_parallel_size
// put on replicas to what --data-parallel-size is held to, and refuses
// --dispatch and --ray-address when nothing runs on replicas.
func (o *matrixOptions) checkModelReplicas() error {
	if o.given.has("data-parallel-size") {
		return nil // checked with the other flags
	}
	i := slices.IndexFunc(o.planned, func(p runner.Planned) bool { return p.Spec.Replicas != nil })
	if i < 0 {
		return o.given.needs("--data-parallel-size or a selected model with data_parallel_size", replicaFlags...)
	}
	if x := o.replicasExcluded(); x != "" {
		p := o.planned[i]
		return usagef("%s runs one engine, not Ray replicas: model %s has data_parallel_size %d in %s (leave it out with --models)",
			x, p.ModelName, p.Spec.Replicas.DataParallelSize, o.selection.config)
	}
	return nil
}

// defaultRounds is --paired's rounds when --repeat is not given.
const defaultRounds = 5

// checkPaired refuses what a paired experiment cannot do, and turns --aa
// on with --paired unless it was given.
func (o *matrixOptions) checkPaired() error {
	s, g := &o.selection, o.given
	if !s.paired {
		return nil
	}
	switch {
	case o.online != nil:
		return usagef("--paired loads its engines in one process; it does not apply to --online")
	case o.profile.on:
		return usagef("--paired does not apply to --profile: profile an experiment of its own")
	case o.mismatch.on:
		return usagef("--paired does not score mismatch yet: run --mismatch in a matrix without --paired")
	case g.has("fresh-engine"):
		return usagef("--paired keeps every engine loaded between rounds; leave out --fresh-engine")
	case !g.has("repeat"):
		o.spec.Rollout.Repeat = defaultRounds
	case o.spec.Rollout.Repeat < runner.MinRounds:
		return usagef("--paired needs --repeat %d or more rounds (or auto): one round gives no interval", runner.MinRounds)
	}
	if !g.has("aa") {
		s.aa = true
	}
	return nil
}

// plan turns the selected combinations of the models file into
// experiments, each with the command line's workload and the model's own
// settings. A spec that cannot be valid is a usage error before anything
// runs; a checkpoint that is missing fails its row only.
func (o *matrixOptions) plan() error {
	f, err := config.Load(o.selection.config)
	if err != nil {
		return usageError{err}
	}
	if o.planned, err = planMatrix(o.engineOptions, o.selection, f, o.experiment); err != nil {
		return err
	}
	if err := o.checkModelReplicas(); err != nil {
		return err
	}
	if o.mismatch.on {
		return o.score(f)
	}
	return nil
}

// score gives every planned experiment but the A/A its scored pass,
// against its model's reference.
func (o *matrixOptions) score(f *config.File) error {
	combos, err := f.Select(o.selection.models, []string{string(workload.BF16)}, o.selection.modelBase)
	if err != nil {
		return usageError{err}
	}
	bf16, configured := map[string]string{}, map[string]bool{}
	var models []string
	for _, c := range combos {
		models = append(models, c.Model)
		configured[c.Model] = c.Configured
		if c.Path != config.Builtin {
			bf16[c.Model] = c.Path
		}
	}
	refs, err := o.mismatch.matrixReferences(bf16, configured, models, o.selection.config)
	if err != nil {
		return err
	}
	for i, p := range o.planned {
		x, ok := p.Payload.(experiment)
		if !ok || x.AA || !runnable(p) {
			continue
		}
		x.Mismatch = o.mismatch.scoring(o.outputDir, p.Name, refs[p.ModelName])
		o.planned[i].Payload = x
	}
	return nil
}

// experiment is one planned row as its child process runs it, writing to
// the log the matrix gives it.
func (o *matrixOptions) experiment(name, modelName string, spec workload.Spec) experiment {
	plan := forExperiment(o.profile.plan, name)
	x := experiment{Name: name, ModelName: modelName, Spec: spec, Log: runner.LogPath(o.logDir, name)}
	if o.online != nil {
		x.Online = o.online.runnerOptions(o.outputDir, name, plan)
	} else {
		x.Profile = plan
	}
	return x
}

// diagnosticOptions check the setup with a small offline run:
// `--diagnostic`, of the first configured model with --config.
type diagnosticOptions struct {
	engineOptions
	selection selection
	// online and profiling are rejected: a diagnostic checks the plain
	// offline path.
	online   bool
	profile  profileOptions
	mismatch bool
}

func (o *diagnosticOptions) Validate() error {
	g := o.given
	return firstError(o.checkQuant,
		func() error {
			if o.selection.config != "" && g.has("model") {
				return usagef("--model and --config exclude each other: the config names the models")
			}
			if o.online {
				return usagef("--diagnostic checks the offline path; leave out --online")
			}
			if err := o.replicas.refuse(g, "--diagnostic"); err != nil {
				return err
			}
			if o.mismatch {
				return usagef("--diagnostic checks one plain run; leave out --mismatch")
			}
			if n, ok := g.first("paired", "aa"); ok {
				return usagef("--diagnostic checks one plain run; leave out --%s", n)
			}
			return g.needs("--online", onlineFlags...)
		},
		o.checkDatasetFlags, o.checkRepeat, o.checkFreshEngine, o.checkEngineLog,
		func() error { return o.selection.Validate(g) },
		func() error {
			if o.profile.on {
				return usagef("--profile does not apply to --diagnostic")
			}
			return o.profile.Validate(false)
		},
		o.resolve)
}

// sessionOptions run a scripted profiling session on a loaded engine:
// `profile --session FILE [flags]`.
type sessionOptions struct {
	file string
	// rest are the other flags, a plain run's, and main what they parse
	// to (with --profile, whose pass the session's file replaces).
	rest []string
	main command
	// offline is main once validated: the session's engine and rollout, with
	// the file's profiler and steps.
	offline *offlineOptions
}

// sessionOnlyFlags are the profile flags a session keeps; its file sets the
// rest.
var sessionOnlyFlags = []string{"--profile-dir", "--profile-top"}

func (o *sessionOptions) Validate() error {
	if o.file == "" {
		return usagef("profile: --session is required")
	}
	for _, a := range o.rest {
		name, _, _ := strings.Cut(a, "=")
		if strings.HasPrefix(name, "--profile") && !slices.Contains(sessionOnlyFlags, name) || name == "--online" || name == "--config" {
			return usagef("profile: %s does not apply to a session (its file chooses the profiler)", name)
		}
	}
	session, err := profile.LoadSession(o.file)
	if err != nil {
		return usageError{err}
	}
	if err := o.main.Validate(); err != nil {
		return err
	}
	run, ok := o.main.(*offlineOptions)
	if !ok {
		return usagef("profile: a session runs the engine in this process; leave out --online, --config and --diagnostic")
	}
	plan := run.profile.plan
	plan.Options, plan.Steps = session.Profiler, session.Steps
	if plan.EngineCoreInProcess, err = run.profile.engineCoreInProcess(plan.Options.Backend); err != nil {
		return err
	}
	o.offline = run
	return nil
}

// summarizeOptions summarize a folder of results: `summarize DIR`.
type summarizeOptions struct {
	args          []string
	markdown, csv bool
}

func (o *summarizeOptions) Validate() error {
	if len(o.args) != 1 {
		return usagef("summarize: want one directory, got %d arguments", len(o.args))
	}
	if o.markdown && o.csv {
		return usagef("summarize: --markdown and --csv exclude each other")
	}
	if !isDir(o.args[0]) {
		return usagef("summarize: %s is not a directory", o.args[0])
	}
	return nil
}

// tinyModelOptions write the built-in model: `tiny-model --out DIR`.
type tinyModelOptions struct {
	out    string
	quant  string
	python string
	q      workload.Quantization
}

func (o *tinyModelOptions) Validate() error {
	if o.out == "" {
		return usagef("tiny-model: --out is required")
	}
	var err error
	if o.q, err = workload.ParseQuantization(o.quant); err != nil {
		return usagef("tiny-model --quant: %v", err)
	}
	if o.out, err = filepath.Abs(o.out); err != nil {
		return usagef("tiny-model --out: %v", err)
	}
	return nil
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
