// Package sidebyside holds what the commands that benchmark rollbench
// against vLLM's own tool (or against itself) share: the command's frame,
// a tiny model both tools load, a rollbench run in a fresh directory,
// pairs of runs and the rule that says how many, the comparison of a
// pair's two tools (metrics' own statistics, as every summary computes
// them) and the verdict on a goal that bounds a figure from above.
package sidebyside

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

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

// Order is the order the two tools go in at pair i: A B, then B A, and so
// on, so that neither always runs on a machine the other has just warmed,
// and a drift within a pair favours each tool in turn.
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

// Comparison is one tool's runs over the other's, pair by pair: a pair is
// one run of each in the same stretch of time, so the drift of the machine
// over a session cancels in its ratio, where a comparison of the two series
// keeps it.
type Comparison struct {
	metrics.PairedRatio
	// Tested is false with fewer than two pairs: Ratio is then the one
	// pair's ratio alone, with no interval.
	Tested bool `json:"tested"`
	// PairRatios are a[i]/b[i], in the order the pairs ran.
	PairRatios []float64 `json:"pair_ratios"`
	// Goal is the least ratio wanted; Verdict says whether the interval
	// shows it met.
	Goal    float64 `json:"goal"`
	Verdict string  `json:"goal_verdict"`
}

// Compare compares a[i] with b[i] (positive, of the same length, not
// empty) against goal, the interval corrected for looks looks of the
// stopping rule (Rule.Looks): the goal is met when the whole interval is
// at or above it, missed when the whole interval is below it, and
// otherwise not shown either way.
func Compare(a, b []float64, looks int, goal float64) (Comparison, error) {
	if len(a) != len(b) || len(a) == 0 {
		return Comparison{}, fmt.Errorf("%d and %d runs do not make pairs", len(a), len(b))
	}
	c := Comparison{PairRatios: make([]float64, len(a)), Goal: goal}
	for i := range a {
		c.PairRatios[i] = a[i] / b[i]
	}
	r, ok := metrics.Paired(a, b, looks)
	c.PairedRatio, c.Tested = r, ok
	switch {
	case ok:
	case len(a) == 1 && c.PairRatios[0] > 0:
		c.Ratio, c.Rounds, c.Looks = c.PairRatios[0], 1, max(looks, 1)
		c.Verdict = "not shown, no interval from one pair"
		return c, nil
	default:
		return Comparison{}, fmt.Errorf("pair ratios %v: a figure is not positive", c.PairRatios)
	}
	switch {
	case r.Low >= goal:
		c.Verdict = "met, the whole interval is at or above it"
	case r.High < goal:
		c.Verdict = "missed, the whole interval is below it"
	default:
		c.Verdict = "not shown, the interval includes it"
	}
	return c, nil
}

// AtMost is the verdict on a goal that a figure be at most goal, from its
// interval [low, high]: met only when the whole interval is at or below
// it, missed only when the whole interval is above it. whose names the
// interval in the verdict's words ("the", "the default's").
func AtMost(low, high, goal float64, whose string) string {
	switch {
	case high <= goal:
		return fmt.Sprintf("met: %s whole interval is at or below %.2f", whose, goal)
	case low > goal:
		return fmt.Sprintf("missed: %s whole interval is above %.2f", whose, goal)
	default:
		return fmt.Sprintf("not shown either way: %s interval contains %.2f", whose, goal)
	}
}

// HalfWidth is the interval's half width as a share of the ratio, what the
// stopping rule bounds: NaN with no interval, which never meets a target.
func (c Comparison) HalfWidth() float64 {
	if !c.Tested {
		return math.NaN()
	}
	return c.PairedRatio.HalfWidth()
}

// Format prints the comparison with prec decimals: "0.985x ~ [0.962,
// 1.009] p=0.120, 5 pairs, 98.3% interval", ~ marking a ratio not
// significant at metrics.Alpha, then the goal's verdict.
func (c Comparison) Format(prec int) string {
	s := fmt.Sprintf("%.*fx", prec, c.Ratio)
	if !c.Tested {
		return s + fmt.Sprintf(" (no interval), 1 pair; goal >= %.*f: %s", prec, c.Goal, c.Verdict)
	}
	if !c.Significant {
		s += " ~"
	}
	return s + fmt.Sprintf(" [%.*f, %.*f] p=%s, %d pairs, %s interval; goal >= %.*f: %s",
		prec, c.Low, prec, c.High, metrics.PValue(c.P), c.Rounds, level(c.Level), prec, c.Goal, c.Verdict)
}

// level prints an interval's level with the decimals a corrected level
// needs: 95%, 98.3%, 98.75%.
func level(l float64) string {
	return strconv.FormatFloat(math.Round(l*1e4)/1e2, 'f', -1, 64) + "%"
}

// Method says how a Comparison is computed, for a report's text.
func Method() string {
	return fmt.Sprintf("the geometric mean of the per-pair ratios, with the Student's t interval and the paired t-test of their logarithms; "+
		"with --runs auto the interval's level and p are Bonferroni-corrected over the stopping rule's looks; "+
		"~ when not significant at alpha %.2f; a goal is met only when the whole interval is at or above it, missed only when the whole interval is below it",
		metrics.Alpha)
}

// Runs is --runs: a fixed number of pairs, or auto (N is 0) for as many as
// the stopping rule asks.
type Runs struct{ N int }

func (r *Runs) String() string {
	if r.N == 0 {
		return "auto"
	}
	return strconv.Itoa(r.N)
}

// Set parses N or auto.
func (r *Runs) Set(s string) error {
	if s == "auto" {
		r.N = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return fmt.Errorf("want a number of pairs (1 or more) or auto, got %q", s)
	}
	r.N = n
	return nil
}

// Type names the value in --help.
func (r *Runs) Type() string { return "N|auto" }

// Common are the options every side-by-side command takes.
type Common struct {
	Rollbench, VLLM, Out, LogDir string
	Runs                         Runs
	TargetCI                     float64
	MaxRuns                      int
}

// Register adds Common's flags to fs, with defaults for the command name
// (bench-offline writes benchmarks/offline.{json,md}, and so on) and for
// its stopping rule.
func (c *Common) Register(fs *pflag.FlagSet, name string, targetCI float64, maxRuns int) {
	fs.StringVar(&c.Rollbench, "rollbench", "bin/rollbench-inproc", "rollbench-inproc binary")
	fs.StringVar(&c.VLLM, "vllm", ".venv/bin/vllm", "vllm CLI of the environment rollbench uses")
	fs.StringVar(&c.Out, "out", "benchmarks/"+strings.TrimPrefix(name, "bench-"), "output files' path without extension (.json, .md)")
	fs.StringVar(&c.LogDir, "log-dir", "benchmark_logs/"+name, "directory for each run's output")
	fs.Var(&c.Runs, "runs", "pairs of runs (each tool once per pair, alternating which goes first), or auto: until the headline intervals are within --target-ci, at most --max-runs")
	fs.Float64Var(&c.TargetCI, "target-ci", targetCI, "with --runs auto: the widest headline interval's half width wanted, as a share of its ratio")
	fs.IntVar(&c.MaxRuns, "max-runs", maxRuns, "with --runs auto: the most pairs")
}

// Rule is how many pairs a command runs: a fixed number, or the
// sequential rule of rollbench's --repeat auto.
type Rule struct {
	fixed int
	seq   metrics.Sequential
}

// Rule checks the options of the stopping rule.
func (c Common) Rule() (Rule, error) {
	if c.Runs.N > 0 {
		return Rule{fixed: c.Runs.N}, nil
	}
	seq, err := metrics.NewSequential(c.TargetCI, c.MaxRuns)
	if err != nil {
		return Rule{}, fmt.Errorf("--runs auto: %w", err)
	}
	return Rule{seq: seq}, nil
}

// Looks is how many looks the intervals are corrected for: one for a fixed
// number of pairs.
func (r Rule) Looks() int {
	if r.fixed > 0 {
		return 1
	}
	return r.seq.NumLooks()
}

// Check applies the rule after n pairs whose widest headline interval,
// computed with Looks(), has halfWidth: done is true when the pairs end
// here.
func (r Rule) Check(n int, halfWidth float64) (st metrics.Stop, done bool) {
	if r.fixed > 0 {
		if n < r.fixed {
			return metrics.Stop{}, false
		}
		return metrics.Stop{Looks: []int{n}, Passes: n, HalfWidth: halfWidth,
			Method: fmt.Sprintf("a fixed number of pairs: one look, each interval at %s", level(metrics.ConfidenceLevel)),
			Reason: fmt.Sprintf("--runs %d", n)}, true
	}
	st, done = r.seq.Check(n, halfWidth)
	if !done {
		return st, false
	}
	// metrics words the reason for rollbench's own flags and passes.
	if st.Reached {
		st.Reason = fmt.Sprintf("the widest headline interval is within ±%.1f%% after %d pairs (±%.1f%%, corrected for %d looks)",
			100*r.seq.Target, n, 100*halfWidth, r.seq.NumLooks())
	} else {
		st.Reason = fmt.Sprintf("reached --max-runs %d with the widest headline interval at ±%.1f%%, wider than the target ±%.1f%%",
			r.seq.Max, 100*halfWidth, 100*r.seq.Target)
	}
	return st, true
}

// Pairs runs pairs 0, 1, ... until the rule stops them: pair runs pair i
// and returns the widest half width of the headline comparisons over the
// pairs so far, computed with r.Looks().
func (r Rule) Pairs(pair func(i int) (halfWidth float64, err error)) (metrics.Stop, error) {
	for n := 1; ; n++ {
		hw, err := pair(n - 1)
		if err != nil {
			return metrics.Stop{}, err
		}
		if st, done := r.Check(n, hw); done {
			return st, nil
		}
	}
}

// Widest is the widest half width of cs, NaN when one has no interval.
func Widest(cs ...Comparison) float64 {
	if len(cs) == 0 {
		return math.NaN()
	}
	w := 0.0
	for _, c := range cs {
		hw := c.HalfWidth()
		if math.IsNaN(hw) {
			return hw
		}
		w = max(w, hw)
	}
	return w
}

// Describe says how many pairs ran and why, for a report's text.
func Describe(st metrics.Stop) string {
	if st.Sequential == (metrics.Sequential{}) { // a fixed --runs
		return fmt.Sprintf("%d pairs (%s; %s)", st.Passes, st.Reason, st.Method)
	}
	return fmt.Sprintf("%d pairs, by the rule of rollbench's `--repeat auto` (--runs auto, --target-ci %g, --max-runs %d): stopped because %s; %s",
		st.Passes, st.Target, st.Max, st.Reason, st.Method)
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

// RunFresh runs rollbench with args(results, logs), two directories under
// dir, which is emptied first: a result an earlier run left there must not
// be read as this one's. Everything the process printed goes to
// dir/rollbench.log; wall is the whole process, from exec to exit.
func RunFresh(ctx context.Context, rollbench, dir string, args func(results, logs string) []string) (results string, wall float64, err error) {
	if err := os.RemoveAll(dir); err != nil {
		return "", 0, err
	}
	results, logs := filepath.Join(dir, "results"), filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return "", 0, err
	}
	cmd := exec.CommandContext(ctx, rollbench, args(results, logs)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start).Seconds()
	logPath := filepath.Join(dir, "rollbench.log")
	if werr := os.WriteFile(logPath, buf.Bytes(), 0o644); werr != nil {
		return "", wall, werr
	}
	if err != nil {
		return "", wall, fmt.Errorf("%w (output in %s)", err, logPath)
	}
	return results, wall, nil
}
