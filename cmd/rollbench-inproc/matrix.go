package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/report"
	"github.com/rollbench/rollbench/internal/result"
	runner "github.com/rollbench/rollbench/internal/run"
	"github.com/rollbench/rollbench/internal/supervise"
	"github.com/rollbench/rollbench/workload"
	"github.com/rollbench/rollbench/workload/config"
)

// planMatrix turns the selected combinations of a models file into
// experiments, each with the command line's workload and the model's own
// settings (its data_parallel_size unless --data-parallel-size is given),
// and describes each as its child runs it. A spec that cannot be
// valid is a usage error before anything runs; a checkpoint that is
// missing fails its row only.
func planMatrix(e engineOptions, sel selection, f *config.File, describe func(name, modelName string, spec workload.Spec) experiment) ([]runner.Planned, error) {
	combos, err := f.Select(sel.models, sel.quants, sel.modelBase)
	if err != nil {
		return nil, usageError{err}
	}
	var out []runner.Planned
	for _, c := range combos {
		spec := e.spec
		spec.Engine.Quant = c.Quant
		spec.Engine.Args = c.EngineArgs
		if c.TensorParallelSize > 0 {
			spec.Engine.TensorParallelSize = c.TensorParallelSize
		}
		if c.MaxModelLen > 0 {
			spec.Engine.MaxModelLen = c.MaxModelLen
		}
		label := c.Name()
		if c.DataParallelSize > 0 && !e.given.has("data-parallel-size") {
			spec.Replicas = e.replicas.replicas(c.DataParallelSize, spec.Rollout.Mode)
			label += fmt.Sprintf(" (data_parallel_size %d in the models file)", c.DataParallelSize)
		}
		p := runner.Planned{Name: c.Name(), ModelName: c.Model, Spec: spec}
		switch {
		case !c.Configured:
			p.Skip = fmt.Sprintf("%s is not configured for %s", c.Quant, c.Model)
		case c.Path == config.Builtin:
			if !slices.Contains(engine.TinyModelVariants, c.Quant) {
				p.Skip = fmt.Sprintf("the built-in tiny model has no %s variant", c.Quant)
			}
		default:
			p.Spec.Engine.Model = c.Path
			if err := workload.CheckModel(c.Path, c.Quant); err != nil {
				p.Fail = "model path " + err.Error()
			}
		}
		if err := spec.Validate(); err != nil {
			return nil, usagef("%s: %v", label, err)
		}
		p.Payload = describe(p.Name, p.ModelName, p.Spec)
		out = append(out, p)
	}
	switch {
	case sel.paired:
		return pair(out, sel.aa, describe)
	case sel.aa:
		return withAA(out, describe), nil
	}
	return out, nil
}

// aaName is the result name of a model's second BF16 run.
func aaName(model string) string { return model + "_bf16_aa" }

// runnable reports whether a planned entry will run.
func runnable(p runner.Planned) bool { return p.Skip == "" && p.Fail == "" }

// withAA adds, after each model's last entry, the model's BF16 run again
// (--aa without --paired): a sequential matrix's floor spans the drift of
// the model's whole row.
func withAA(plan []runner.Planned, describe func(name, modelName string, spec workload.Spec) experiment) []runner.Planned {
	var out []runner.Planned
	for i, p := range plan {
		out = append(out, p)
		if i+1 < len(plan) && plan[i+1].ModelName == p.ModelName {
			continue
		}
		if aa, ok := baseline(plan, p.ModelName); ok {
			aa.Name = aaName(aa.ModelName)
			x := describe(aa.Name, aa.ModelName, aa.Spec)
			x.AA = true
			aa.Payload = x
			out = append(out, aa)
		}
	}
	return out
}

// pair turns each model's entries that will run into one paired
// experiment, MODEL_paired, at the place of its BF16 entry: BF16 first,
// then the quantizations in the file's order, then the A/A arm. Entries
// that will not run keep their rows; a model whose BF16 does not run has
// nothing to pair with, and its other entries are skipped saying so.
func pair(plan []runner.Planned, aa bool, describe func(name, modelName string, spec workload.Spec) experiment) ([]runner.Planned, error) {
	var out []runner.Planned
	for _, p := range plan {
		switch {
		case !runnable(p):
			out = append(out, p)
		case p.Spec.Engine.Quant != workload.BF16:
			_, ok := baseline(plan, p.ModelName)
			if !ok {
				p.Skip = fmt.Sprintf("--paired compares with %s's bf16, which does not run", p.ModelName)
				out = append(out, p)
			}
		default:
			g, err := group(plan, p, aa, describe)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
	}
	return out, nil
}

// baseline is a model's BF16 entry, when it will run.
func baseline(plan []runner.Planned, model string) (runner.Planned, bool) {
	for _, p := range plan {
		if p.ModelName == model && p.Spec.Engine.Quant == workload.BF16 && runnable(p) {
			return p, true
		}
	}
	return runner.Planned{}, false
}

// group is the paired experiment of base's model. The engines' shares of
// device memory must fit together; their KV caches on a CPU host are
// checked when the experiment starts.
func group(plan []runner.Planned, base runner.Planned, aa bool, describe func(name, modelName string, spec workload.Spec) experiment) (runner.Planned, error) {
	arms := []runner.Arm{{Name: base.Name, Engine: base.Spec.Engine}}
	for _, p := range plan {
		if p.ModelName == base.ModelName && p.Spec.Engine.Quant != workload.BF16 && runnable(p) {
			arms = append(arms, runner.Arm{Name: p.Name, Engine: p.Spec.Engine})
		}
	}
	if aa {
		arms = append(arms, runner.Arm{Name: aaName(base.ModelName), Engine: base.Spec.Engine, AA: true})
	}
	if len(arms) == 1 {
		return base, nil
	}
	if base.Spec.Engine.KVCacheMemoryBytes == 0 {
		share := 0.0
		for _, a := range arms {
			share += a.Engine.GPUMemoryUtilization
		}
		if share > 1 {
			return runner.Planned{}, usagef("--paired loads %d engines of %s on one device with --gpu-mem-util %.2f each, %.2f of its memory: give --gpu-mem-util %.2f or less, --kv-cache-memory, or --aa=false",
				len(arms), base.ModelName, base.Spec.Engine.GPUMemoryUtilization, share, math.Floor(100/float64(len(arms)))/100)
		}
	}
	g := base
	g.Name, g.Arms = base.ModelName+"_paired", arms
	x := describe(g.Name, g.ModelName, g.Spec)
	x.Paired = arms
	g.Payload = x
	return g, nil
}

func (o *matrixOptions) run(ctx context.Context, stdout io.Writer) error {
	planned := o.planned
	// Every entry's name is held for the whole matrix, so that another
	// run of one of them is refused before anything runs.
	for _, p := range planned {
		lock, err := result.Acquire(o.outputDir, p.Name)
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	outcome, runErr := runner.Matrix(ctx, runner.MatrixOptions{
		Command:   []string{self, "run-experiment", "--python", o.python},
		OutputDir: o.outputDir,
		LogDir:    o.logDir,
		Timeout:   o.selection.timeout,
		Grace:     gracePeriod,
		Resume:    o.selection.resume,
		Version:   version,
		Progress:  stdout,
		Marker:    os.Getenv(supervise.Env),
	}, planned)
	var keys []report.Key
	key := func(model string, q workload.Quantization, aa bool) report.Key {
		return report.Key{Model: model, Quant: result.ArmLabel(string(q), aa)}
	}
	for _, p := range planned {
		x, _ := p.Payload.(experiment)
		keys = append(keys, key(p.ModelName, p.Spec.Engine.Quant, x.AA))
		for _, a := range p.Arms[min(1, len(p.Arms)):] {
			keys = append(keys, key(p.ModelName, a.Engine.Quant, a.AA))
		}
	}
	if err := summarize(o.outputDir, keys, stdout, report.Text); err != nil {
		return errors.Join(runErr, err)
	}
	if runErr != nil {
		return runErr
	}
	if outcome.Failed > 0 {
		return fmt.Errorf("%d of %d experiments failed (reasons in the summary and in %s)", outcome.Failed, len(planned), o.outputDir)
	}
	return nil
}

// gracePeriod is how long an experiment may take to shut its engine down
// once asked to stop.
const gracePeriod = 30 * time.Second

// summarize writes the three summaries of dir into it and shows one.
func summarize(dir string, expected []report.Key, w io.Writer, show report.Reporter) error {
	rows, problems, err := report.Load(dir)
	if err != nil {
		return fmt.Errorf("summarize %s: %w", dir, err)
	}
	s := report.Build(rows, problems, expected)
	if s.Plots, err = report.WritePlots(dir, s); err != nil {
		return fmt.Errorf("summarize %s: %w", dir, err)
	}
	if err := report.WriteFiles(dir, s); err != nil {
		return fmt.Errorf("summarize %s: %w", dir, err)
	}
	fmt.Fprintln(w)
	return show(w, s)
}

const summarizeUsage = `Usage: rollbench-inproc summarize DIR [--markdown | --csv]

Summarizes the result files in DIR (rollbench's, and those of vllm bench
throughput --output-json or vllm bench serve --save-result named
MODEL_QUANT.json) into DIR/summary.txt, summary.csv and summary.md, one row
per model x quantization with speedups against the model's BF16, and prints
one of them. Pictures go beside them, linked from summary.md: speedup.png
(speedups with their 95% intervals) and, for results with a timeline,
NAME.running.png (samples still running over time) and NAME.cdf.png
(completion-time CDF).
`

func (o *summarizeOptions) run(_ context.Context, stdout io.Writer) error {
	show := report.Text
	switch {
	case o.markdown:
		show = report.Markdown
	case o.csv:
		show = report.CSV
	}
	return summarize(o.args[0], nil, stdout, show)
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// experimentOptions are the child side of a matrix: one experiment, read
// from a file, with its result written to another.
type experimentOptions struct {
	file, output, python string
}

func (o *experimentOptions) Validate() error { return nil }

func (o *experimentOptions) run(ctx context.Context, stdout io.Writer) error {
	data, err := os.ReadFile(o.file)
	if err != nil {
		return fmt.Errorf("run-experiment: %w", err)
	}
	var x experiment
	if err := json.Unmarshal(data, &x); err != nil {
		return fmt.Errorf("run-experiment %s: %w", o.file, err)
	}
	res, err := runExperiment(ctx, nil, o.python, x)
	if res == nil {
		return err
	}
	// The matrix reads the result from o.output; if it cannot be written
	// there, the measurement goes where this experiment's log names it.
	if werr := result.Write(o.output, res); werr != nil {
		_, werr = result.Rescue(x.Name, res, stdout, werr)
		return errors.Join(err, werr)
	}
	return err
}
