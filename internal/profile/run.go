package profile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rollbench/rollbench/workload"
)

// Record is what a result keeps of its profiled pass. Its timings are the
// profiled run's own and never enter the measured figures.
type Record struct {
	Options Options `json:"options"`
	// Dir holds the traces and their reports.
	Dir string `json:"dir"`
	// EngineCoreInProcess is true when vLLM's engine core ran in this
	// process (VLLM_ENABLE_V1_MULTIPROCESSING=0), as the direct backend
	// needs, for the measured pass too.
	EngineCoreInProcess bool         `json:"engine_core_in_process"`
	Steps               []StepRecord `json:"steps"`
	Traces              []Trace      `json:"traces"`
	Error               string       `json:"error,omitempty"`
}

// StepRecord is one step as it ran: its wall time on Go's monotonic clock,
// and the rollout a warm-up or generate step ran.
type StepRecord struct {
	Step
	Rollout *workload.Rollout `json:"rollout,omitempty"`
	WallS   float64           `json:"wall_s"`
}

// Trace is one trace file a stop step flushed, with its report.
type Trace struct {
	// Start names the start step whose profile this is.
	Start  string `json:"start"`
	Path   string `json:"path"`
	Report string `json:"report,omitempty"`
	Top    Top    `json:"top"`
}

// OnePass is the session --profile runs: one profiled generate of shape.
func OnePass(shape Shape) []Step {
	return []Step{{Action: Start, Name: "profile"}, {Action: Generate, Shape: &shape}, {Action: Stop}}
}

// Rollout applies a step's shape to the command line's rollout.
func (sh Shape) Rollout(base workload.Rollout) workload.Rollout {
	r := base
	for _, f := range []struct {
		dst *int
		v   int
	}{
		{&r.NumPrompts, sh.NumPrompts}, {&r.N, sh.N}, {&r.InputLen, sh.InputLen}, {&r.OutputLen, sh.OutputLen},
	} {
		if f.v > 0 {
			*f.dst = f.v
		}
	}
	return r
}

// Pass drives the steps of a profiling session.
type Pass struct {
	Options Options
	Dir     string
	// Rollout is the command line's; steps override its sizes.
	Rollout workload.Rollout
	// Generate runs one rollout (prompts drawn from its seed, the
	// experiment's sampling).
	Generate func(context.Context, workload.Rollout) error
	// Start starts the profiler, naming its traces after name, and
	// returns what stops it and flushes them.
	Start func(ctx context.Context, name string) (stop func(context.Context) error, err error)
	// Range, when set, opens a named range and returns what closes it.
	Range func(ctx context.Context, name string) (exit func(context.Context) error, err error)
	// Top is how many operators a trace's report lists.
	Top int
}

// CheckDir creates dir and proves it writable, so that a profile that could
// never be saved fails before anything is measured.
func CheckDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("profile directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".rollbench-probe-*")
	if err != nil {
		return fmt.Errorf("profile directory %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Run runs the steps in order and records each; it stops at the first
// error, stopping a running profiler first. The record is complete up to
// the step that failed.
func (p *Pass) Run(ctx context.Context, steps []Step, rec *Record) (err error) {
	rec.Options, rec.Dir = p.Options, p.Dir
	if err := CheckDir(p.Dir); err != nil {
		return err
	}
	var stop func(context.Context) error
	var before []string
	var current string
	defer func() {
		if stop != nil { // an error left the profiler running
			err = errors.Join(err, stop(context.WithoutCancel(ctx)))
		}
	}()
	for _, st := range steps {
		sr := StepRecord{Step: st}
		begin := time.Now()
		switch st.Action {
		case Warmup, Generate:
			r := st.Shape.Rollout(p.Rollout)
			sr.Rollout = &r
			err = p.generate(ctx, r, st.Shape.Range)
		case Start:
			if before, err = FindTraces(p.Dir); err == nil {
				current = st.Name
				stop, err = p.Start(ctx, st.Name)
			}
		case Stop:
			err, stop = stop(ctx), nil
		}
		sr.WallS = time.Since(begin).Seconds()
		rec.Steps = append(rec.Steps, sr)
		if err != nil {
			return fmt.Errorf("%s: %w", st.where(), err)
		}
		if st.Action == Stop {
			if err := p.collect(before, current, rec); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Pass) generate(ctx context.Context, r workload.Rollout, rangeName string) error {
	if rangeName == "" || p.Range == nil {
		return p.Generate(ctx, r)
	}
	exit, err := p.Range(ctx, rangeName)
	if err != nil {
		return err
	}
	return errors.Join(p.Generate(ctx, r), exit(ctx))
}

// collect reports on the traces that appeared in the directory since the
// profiler started.
func (p *Pass) collect(before []string, start string, rec *Record) error {
	after, err := FindTraces(p.Dir)
	if err != nil {
		return err
	}
	n := 0
	for _, path := range after {
		if slices.Contains(before, path) {
			continue
		}
		n++
		top, report, err := Report(path, p.Top)
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(path)
		rec.Traces = append(rec.Traces, Trace{Start: start, Path: abs, Report: report, Top: top})
	}
	if n == 0 {
		return fmt.Errorf("profile %q: the profiler wrote no trace into %s", start, p.Dir)
	}
	return nil
}

// Plan is a profiled pass an experiment runs after its measured one.
type Plan struct {
	Options Options `json:"options"`
	Dir     string  `json:"dir"`
	Steps   []Step  `json:"steps"`
	Top     int     `json:"top"`
	// EngineCoreInProcess records that the command line put vLLM's engine
	// core in this process.
	EngineCoreInProcess bool `json:"engine_core_in_process"`
}

// where names a step in errors: by its line when it came from a file.
func (st Step) where() string {
	if st.Line > 0 {
		return fmt.Sprintf("step %s on line %d", st.Action, st.Line)
	}
	return "step " + string(st.Action)
}
