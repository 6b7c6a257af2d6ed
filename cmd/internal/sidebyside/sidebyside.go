// Package sidebyside holds what the commands that benchmark rollbench
// against vLLM's own tool share: the command's frame, a tiny model both
// tools load, the order runs alternate in, and the statistics of runs
// (metrics' own, as every summary computes them).
package sidebyside

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rollbench/rollbench/metrics"
)

// Main runs a benchmark command: run gets the arguments and standard
// output; an error ends the process with status 1.
func Main(name string, run func(ctx context.Context, args []string, stdout io.Writer) error) {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// TinyModel writes rollbench's built-in tiny model (BF16) afresh into
// dir/tiny-bf16 and returns its absolute path: vLLM's tools need a model
// directory of their own to read.
func TinyModel(ctx context.Context, rollbench, dir string) (string, error) {
	model, err := filepath.Abs(filepath.Join(dir, "tiny-bf16"))
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(model); err != nil {
		return "", err
	}
	if out, err := exec.CommandContext(ctx, rollbench, "tiny-model", "--out", model).CombinedOutput(); err != nil {
		return "", fmt.Errorf("tiny model: %v\n%s", err, out)
	}
	return model, nil
}

// Order is the order the two tools go in at run i: alternating, so that
// neither always runs on a machine the other has just warmed.
func Order(i int, first, second string) []string {
	if i%2 == 1 {
		return []string{second, first}
	}
	return []string{first, second}
}

// Spread is the median of a figure over runs, with its extremes: it
// describes how the runs spread, and compares nothing (Compare does).
type Spread struct {
	Median, Min, Max float64
}

// SpreadOf summarizes xs, which must not be empty. The median is
// metrics.Linear's, as in every summary: the mean of the middle two of an
// even count.
func SpreadOf(xs []float64) Spread {
	s := slices.Sorted(slices.Values(xs))
	return Spread{Median: metrics.Percentile(s, 50, metrics.Linear), Min: s[0], Max: s[len(s)-1]}
}

// Median is the median of xs, which must not be empty.
func Median(xs []float64) float64 { return SpreadOf(xs).Median }

// Comparison is one tool's runs over the other's, compared the way the
// summaries compare repetitions: metrics.Compare's ratio of the means with
// Fieller's 95% interval and Welch's p, and what that interval says of a
// goal on the ratio.
type Comparison struct {
	metrics.Ratio
	// Tested is false where Compare is undefined (fewer than two runs of a
	// tool, or no variance in either): Ratio is then the ratio of the means
	// alone.
	Tested bool `json:"tested"`
	RunsA  int  `json:"runs_a"`
	RunsB  int  `json:"runs_b"`
	// Goal is the least ratio wanted; Verdict says whether the interval
	// shows it met.
	Goal    float64 `json:"goal"`
	Verdict string  `json:"goal_verdict"`
}

// Compare compares runs a with runs b (neither empty) against goal: the
// goal is met when the whole interval is at or above it, missed when the
// whole interval is below it, and otherwise not shown either way.
func Compare(a, b []float64, goal float64) Comparison {
	r, ok := metrics.Compare(a, b)
	if !ok {
		r = metrics.Ratio{Ratio: metrics.Mean(a) / metrics.Mean(b)}
	}
	c := Comparison{Ratio: r, Tested: ok, RunsA: len(a), RunsB: len(b), Goal: goal}
	switch {
	case !ok:
		c.Verdict = fmt.Sprintf("not shown, no interval from %d and %d runs", len(a), len(b))
	case r.Low == nil:
		c.Verdict = "not shown, the interval is unbounded"
	case *r.Low >= goal:
		c.Verdict = "met, the whole interval is at or above it"
	case *r.High < goal:
		c.Verdict = "missed, the whole interval is below it"
	default:
		c.Verdict = "not shown, the interval includes it"
	}
	return c
}

// Format prints the comparison with prec decimals, as the summaries print
// a speedup: "0.985x ~ [0.962, 1.009] p=0.120", ~ marking a ratio not
// significant at metrics.Alpha, then the runs and the goal's verdict.
func (c Comparison) Format(prec int) string {
	s := fmt.Sprintf("%.*fx", prec, c.Ratio.Ratio)
	if c.Tested && !c.Significant {
		s += " ~"
	}
	switch {
	case !c.Tested:
		s += " (no interval)"
	case c.Low == nil:
		s += " [unbounded] p=" + metrics.PValue(c.P)
	default:
		s += fmt.Sprintf(" [%.*f, %.*f] p=%s", prec, *c.Low, prec, *c.High, metrics.PValue(c.P))
	}
	return s + fmt.Sprintf(", n=%d+%d; goal >= %.*f: %s", c.RunsA, c.RunsB, prec, c.Goal, c.Verdict)
}

// Method says how a Comparison is computed, for a report's text.
func Method() string {
	return fmt.Sprintf("ratio of the means with Fieller's %.0f%% interval and Welch's t-test p, ~ when not significant at alpha %.2f; a goal is met only when the whole interval is at or above it",
		100*metrics.ConfidenceLevel, metrics.Alpha)
}

// Common are the options every side-by-side command takes.
type Common struct {
	Rollbench, VLLM, Out, LogDir string
	Runs                         int
}

// Register adds Common's flags to fs, with defaults for the command name
// (bench-offline writes benchmarks/offline.{json,md}, and so on).
func (c *Common) Register(fs *pflag.FlagSet, name string) {
	fs.StringVar(&c.Rollbench, "rollbench", "bin/rollbench-inproc", "rollbench-inproc binary")
	fs.StringVar(&c.VLLM, "vllm", ".venv/bin/vllm", "vllm CLI of the environment rollbench uses")
	fs.StringVar(&c.Out, "out", "benchmarks/"+strings.TrimPrefix(name, "bench-"), "output files' path without extension (.json, .md)")
	fs.StringVar(&c.LogDir, "log-dir", "benchmark_logs/"+name, "directory for each run's output")
	fs.IntVar(&c.Runs, "runs", 3, "runs of each tool (of each setting)")
}

// Write writes a command's report to Out.json and Out.md.
func (c Common) Write(data, md []byte) error {
	if err := os.MkdirAll(filepath.Dir(c.Out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(c.Out+".json", data, 0o644); err != nil {
		return err
	}
	return os.WriteFile(c.Out+".md", md, 0o644)
}
