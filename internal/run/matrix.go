// Matrix runs a list of experiments, each in a child process of its
// own (the same binary, running one experiment), so that device memory is
// returned in full between experiments and a crash, an out-of-memory kill or
// a hang costs one row, never the rest.

package run

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/internal/supervise"
	"github.com/rollbench/rollbench/internal/sys"
	"github.com/rollbench/rollbench/workload"
)

// Planned is one entry of the matrix.
type Planned struct {
	// Name (MODEL_QUANT), ModelName and Spec label the entry's result.
	Name      string
	ModelName string
	Spec      workload.Spec
	// Payload is what the child is given to run, as its experiment file.
	Payload any
	// Skip, when set, is why the experiment is not run; it is recorded as
	// a skipped result.
	Skip string
	// Fail, when set, is why the experiment cannot run (found before
	// starting it); it is recorded as a failed result.
	Fail string
	// Arms are a paired experiment's engines (Spec is then the
	// baseline's): a result it could not write itself is a paired one.
	Arms []Arm
}

// MatrixOptions configure a matrix run.
type MatrixOptions struct {
	// Command starts one experiment: the child is Command followed by
	// "--experiment FILE --output FILE".
	Command   []string
	OutputDir string
	LogDir    string
	// Timeout bounds each experiment.
	Timeout time.Duration
	// Grace is how long a child may take to shut its engine down after
	// SIGTERM before its process group is killed.
	Grace time.Duration
	// Resume skips experiments whose result is already complete.
	Resume   bool
	Version  string
	Progress io.Writer
	// Marker is this process's supervision marker (see supervise.Env),
	// under which each child marks its own tree.
	Marker string
}

// MatrixOutcome counts what a matrix did.
type MatrixOutcome struct {
	OK, Failed, Skipped, Resumed int
}

// Matrix runs the plan in order. It returns when every entry has a result, or
// when ctx ends (the running child is stopped first; later entries do not
// run). Results go to OutputDir as each experiment finishes, by
// result.Save's rule; the caller holds their locks.
func Matrix(ctx context.Context, o MatrixOptions, plan []Planned) (MatrixOutcome, error) {
	var out MatrixOutcome
	if err := os.MkdirAll(o.LogDir, 0o755); err != nil {
		return out, fmt.Errorf("log directory: %w", err)
	}
	start := time.Now()
	var ran []time.Duration
	for i, p := range plan {
		if ctx.Err() != nil {
			return out, context.Cause(ctx)
		}
		tag := fmt.Sprintf("[%d/%d] %s", i+1, len(plan), p.Name)
		switch {
		case o.Resume && result.Complete(result.Path(o.OutputDir, p.Name)):
			out.Resumed++
			fmt.Fprintf(o.Progress, "%s: complete in an earlier run, kept\n", tag)
			continue
		case p.Skip != "" || p.Fail != "":
			status, reason := result.StatusSkipped, p.Skip
			if p.Fail != "" {
				status, reason = result.StatusFailed, p.Fail
				out.Failed++
			} else {
				out.Skipped++
			}
			fmt.Fprintf(o.Progress, "%s: %s: %s\n", tag, status, reason)
			if _, err := result.Save(o.OutputDir, p.Name, record(o, p, status, reason), o.Progress); err != nil {
				return out, fmt.Errorf("%s: %w", p.Name, err)
			}
			continue
		}
		fmt.Fprintf(o.Progress, "%s: running (log %s)\n", tag, logPath(o, p))
		began := time.Now()
		r, err := runOne(ctx, o, p)
		took := time.Since(began)
		ran = append(ran, took)
		// A result that cannot be saved is rescued; the next would fare
		// no better, so the matrix stops.
		if _, werr := result.Save(o.OutputDir, p.Name, r.raw, o.Progress); werr != nil {
			return out, fmt.Errorf("%s: %w", p.Name, werr)
		}
		if r.Status == result.StatusOK {
			out.OK++
			fmt.Fprintf(o.Progress, "%s: ok, %s, in %s; %s\n", tag,
				r.Headline(), took.Round(time.Second), eta(start, ran, plan[i+1:]))
		} else {
			out.Failed++
			fmt.Fprintf(o.Progress, "%s: failed in %s: %s; %s\n", tag, took.Round(time.Second), r.Error, eta(start, ran, plan[i+1:]))
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// eta estimates the rest from the experiments that ran: skipped and failed
// entries found before starting cost nothing.
func eta(start time.Time, ran []time.Duration, rest []Planned) string {
	var sum time.Duration
	for _, d := range ran {
		sum += d
	}
	left := 0
	for _, p := range rest {
		if p.Skip == "" && p.Fail == "" {
			left++
		}
	}
	eta := sum / time.Duration(len(ran)) * time.Duration(left)
	return fmt.Sprintf("elapsed %s, ETA %s", time.Since(start).Round(time.Second), eta.Round(time.Second))
}

// LogPath is the engine log of the run named name in dir: what its engine
// processes, and a matrix's experiment process, print.
func LogPath(dir, name string) string { return filepath.Join(dir, name+".log") }

func logPath(o MatrixOptions, p Planned) string { return LogPath(o.LogDir, p.Name) }

// record is a result for an experiment that produced none of its own.
func record(o MatrixOptions, p Planned, status, reason string) any {
	offline := func(name string, spec workload.Spec) *result.Offline {
		h := result.Started(result.Schema, name, p.ModelName)
		h.Rollbench, h.Status, h.Error = o.Version, status, reason
		return &result.Offline{Header: h, Spec: spec, Warnings: []string{}}
	}
	if len(p.Arms) == 0 {
		return offline(p.Name, p.Spec)
	}
	r := &result.Paired{Header: result.Started(result.PairedSchema, p.Name, p.ModelName), Order: [][]string{}, Comparisons: []result.Comparison{}}
	r.Rollbench, r.Status, r.Error = o.Version, status, reason
	for _, a := range p.Arms {
		spec := p.Spec
		spec.Engine = a.Engine
		arm := offline(a.Name, spec)
		arm.AA = a.AA
		r.Arms = append(r.Arms, *arm)
	}
	return r
}

// runOne runs p in a child process and returns its result, or a failed one
// that says why there is none. The error is non-nil only when ctx ended.
func runOne(ctx context.Context, o MatrixOptions, p Planned) (*outcome, error) {
	log := logPath(o, p)
	spec := filepath.Join(o.LogDir, p.Name+".experiment.json")
	childResult := filepath.Join(o.LogDir, p.Name+".result.json")
	_ = os.Remove(childResult)
	failed := func(reason string) *outcome {
		r := fromRecord(record(o, p, result.StatusFailed, reason))
		r.set("log", log)
		r.set("log_tail", sys.TailLines(log, 20))
		return r
	}
	if err := result.Write(spec, p.Payload); err != nil {
		return failed(err.Error()), nil
	}
	logFile, err := os.Create(log)
	if err != nil {
		return failed(fmt.Sprintf("create log: %v", err)), nil
	}
	defer logFile.Close()

	args := append(append([]string{}, o.Command[1:]...), "--experiment", spec, "--output", childResult)
	cmd := exec.Command(o.Command[0], args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A process group of its own: the terminal's Ctrl-C reaches only
	// this process, which then stops the child's whole tree itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return failed(fmt.Sprintf("start: %v", err)), nil
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var tree []int // the child's engine processes, once they exist

	timer := time.NewTimer(o.Timeout)
	defer timer.Stop()
	var waitErr, stopCause error
	select {
	case waitErr = <-exited:
	case <-timer.C:
		stopCause = fmt.Errorf("time limit of %s exceeded", o.Timeout)
		tree = sys.Descendants(cmd.Process.Pid)
		waitErr = stop(cmd, exited, o.Grace)
	case <-ctx.Done():
		stopCause = context.Cause(ctx)
		tree = sys.Descendants(cmd.Process.Pid)
		waitErr = stop(cmd, exited, o.Grace)
	}
	// Anything of the child's still alive goes now: in its group or not,
	// reparented or not when it died.
	sys.KillGroup(cmd.Process.Pid, tree)
	supervise.KillUnder(supervise.ChildMarker(o.Marker, cmd.Process.Pid), 0, 0)

	r := readOutcome(childResult)
	switch {
	case stopCause != nil && r != nil && r.Status == result.StatusFailed:
		r.set("error", stopCause.Error()+": "+r.Error)
	case stopCause != nil:
		r = failed(stopCause.Error())
	case r == nil:
		r = failed(fmt.Sprintf("the experiment process %s without a result", sys.Ended(waitErr)))
	}
	r.set("log", log)
	if r.Status != result.StatusOK && r.raw["log_tail"] == nil {
		r.set("log_tail", sys.TailLines(log, 20))
	}
	if ctx.Err() != nil {
		return r, stopCause
	}
	return r, nil
}

// outcome is an experiment's result as the child wrote it, kept as raw JSON
// so that fields of any result schema pass through unchanged.
type outcome struct {
	raw           map[string]any
	Status, Error string
}

func readOutcome(path string) *outcome {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	r := &outcome{}
	if json.Unmarshal(data, &r.raw) != nil {
		return nil
	}
	r.Status, _ = r.raw["status"].(string)
	r.Error, _ = r.raw["error"].(string)
	return r
}

func fromRecord(rec any) *outcome {
	data, _ := json.Marshal(rec)
	r := &outcome{}
	_ = json.Unmarshal(data, &r.raw)
	r.Status, _ = r.raw["status"].(string)
	r.Error, _ = r.raw["error"].(string)
	return r
}

func (r *outcome) set(key string, v any) {
	r.raw[key] = v
	if key == "error" {
		r.Error = v.(string)
	}
}

// Headline is what the progress line says of an ok result: the output
// rate of an offline or an online one, the speedups of a paired one.
func (r *outcome) Headline() string {
	if cs, ok := r.raw["comparisons"].([]any); ok {
		var parts []string
		for _, c := range cs {
			m, _ := c.(map[string]any)
			arm, _ := m["arm"].(string)
			ratio, _ := m["ratio"].(float64)
			lo, _ := m["ci_low"].(float64)
			hi, _ := m["ci_high"].(float64)
			parts = append(parts, fmt.Sprintf("%s %.3fx [%.3f, %.3f]", arm, ratio, lo, hi))
		}
		rounds, _ := r.raw["rounds"].(float64)
		return fmt.Sprintf("%s over %d rounds", strings.Join(parts, ", "), int(rounds))
	}
	v, _ := r.raw["output_throughput"].(float64)
	if t, ok := r.raw["throughput"].(map[string]any); ok {
		v, _ = t["output_tokens_per_second"].(float64)
	}
	return fmt.Sprintf("%.1f output tok/s", v)
}

// stop asks the child to shut its engine down, then kills its group. Only
// the child is asked: its engine processes are its to stop, in order.
func stop(cmd *exec.Cmd, exited <-chan error, grace time.Duration) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		return err
	case <-time.After(grace):
		sys.KillGroup(cmd.Process.Pid, nil)
		return <-exited
	}
}
