package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/report"
	runner "github.com/rollbench/rollbench/internal/run"
	"github.com/rollbench/rollbench/workload"
	"github.com/rollbench/rollbench/workload/config"
)

// plan turns the selected combinations of a models file into experiments,
// each with the command line's workload and the model's own settings. A
// spec that cannot be valid is a usage error before anything runs; a
// checkpoint that is missing fails its row only.
func plan(o offlineOptions, f *config.File) ([]runner.Planned, error) {
	combos, err := f.Select(o.models, o.quants, o.modelBase)
	if err != nil {
		return nil, usageError{err}
	}
	var out []runner.Planned
	for _, c := range combos {
		spec := o.spec
		spec.Engine.Quant = c.Quant
		spec.Engine.Args = c.EngineArgs
		if c.TensorParallelSize > 0 {
			spec.Engine.TensorParallelSize = c.TensorParallelSize
		}
		if c.MaxModelLen > 0 {
			spec.Engine.MaxModelLen = c.MaxModelLen
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
			return nil, usagef("%s: %v", c.Name(), err)
		}
		p.Payload = o.experiment(p.Name, p.ModelName, p.Spec)
		out = append(out, p)
	}
	return out, nil
}

func runMatrix(ctx context.Context, o offlineOptions, stdout io.Writer) error {
	if !o.online {
		if err := embedded("offline runs embed"); err != nil {
			return err
		}
	}
	f, err := config.Load(o.config)
	if err != nil {
		return usageError{err}
	}
	planned, err := plan(o, f)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	outcome, runErr := runner.Matrix(ctx, runner.MatrixOptions{
		Command:   []string{self, "run-experiment", "--python", o.python},
		OutputDir: o.outputDir,
		LogDir:    o.logDir,
		Timeout:   o.timeout,
		Grace:     gracePeriod,
		Resume:    o.resume,
		Version:   version,
		Progress:  stdout,
	}, planned)
	keys := make([]report.Key, len(planned))
	for i, p := range planned {
		keys[i] = report.Key{Model: p.ModelName, Quant: string(p.Spec.Engine.Quant)}
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

Flags:
`

func runSummarize(args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("summarize", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	markdown := fs.Bool("markdown", false, "print the Markdown summary")
	csv := fs.Bool("csv", false, "print the CSV summary")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("summarize: %w", err)}
	}
	if *help {
		fmt.Fprint(stdout, summarizeUsage+fs.FlagUsages())
		return errHelp
	}
	if fs.NArg() != 1 {
		return usagef("summarize: want one directory, got %d arguments", fs.NArg())
	}
	if *markdown && *csv {
		return usagef("summarize: --markdown and --csv exclude each other")
	}
	dir := fs.Arg(0)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usagef("summarize: %s is not a directory", dir)
	}
	show := report.Text
	switch {
	case *markdown:
		show = report.Markdown
	case *csv:
		show = report.CSV
	}
	return summarize(dir, nil, stdout, show)
}

// runExperiment is the child side of a matrix: one experiment, read from a
// file, with its result written to another. It is not meant to be typed.
func runExperiment(ctx context.Context, args []string) error {
	fs := pflag.NewFlagSet("run-experiment", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	spec := fs.String("experiment", "", "experiment file written by the matrix")
	output := fs.String("output", "", "result file")
	pythonPath := fs.String("python", defaultPythonPath(), "python executable")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("run-experiment: %w", err)}
	}
	data, err := os.ReadFile(*spec)
	if err != nil {
		return fmt.Errorf("run-experiment: %w", err)
	}
	var x experiment
	if err := json.Unmarshal(data, &x); err != nil {
		return fmt.Errorf("run-experiment %s: %w", *spec, err)
	}
	_, err = runAndSave(ctx, nil, *pythonPath, x, *output)
	return err
}
