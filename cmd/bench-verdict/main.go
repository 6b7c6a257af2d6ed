// Command bench-verdict measures the time to a bf16-vs-w8a8 verdict on the
// built-in tiny model two ways, alternating them run by run in fresh
// processes: the sequential matrix with a fixed --repeat (each
// quantization its own experiment, compared by Welch and Fieller over the
// two experiments' passes) and --paired --repeat auto (the engines side by
// side in one process, compared round by round, stopping by the rule). It
// writes each run's wall time and interval, with the machine and versions,
// to benchmarks/verdict.{md,json}.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rollbench/rollbench/cmd/internal/sidebyside"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/metrics"
)

func main() { sidebyside.Main("bench-verdict", run) }

// The two procedures compared.
const (
	sequential = "sequential"
	paired     = "paired"
)

// The arms' labels, as the results name them.
var (
	baseLabel  = result.ArmLabel("bf16", false)
	quantLabel = result.ArmLabel("w8a8", false)
	aaLabel    = result.ArmLabel("bf16", true)
)

type options struct {
	sidebyside.Common
	// runs is how many times each procedure runs.
	runs                               int
	config                             string
	numPrompts, n, inputLen, outputLen int
	kvCache                            string
	repeat, maxRepeat                  int
	targetCI                           float64
	// rerender rewrites the report from the runs Out.json recorded.
	rerender bool
}

// interval is a w8a8/bf16 (or A/A) ratio as one procedure's summary shows
// it. Low and High are nil where Fieller's interval is unbounded, and
// HalfWidth, half the interval as a share of the ratio, is then nil too.
type interval struct {
	Ratio       float64  `json:"ratio"`
	Low         *float64 `json:"ci_low"`
	High        *float64 `json:"ci_high"`
	Level       float64  `json:"level"`
	P           float64  `json:"p"`
	Significant bool     `json:"significant"`
	HalfWidth   *float64 `json:"half_width"`
}

// sample is one run of one procedure.
type sample struct {
	Procedure string `json:"procedure"`
	Run       int    `json:"run"`
	// WallSeconds is the whole rollbench-inproc process, from exec to
	// exit: every load, warm-up, pass and summary.
	WallSeconds float64  `json:"wall_s"`
	W8A8        interval `json:"w8a8_vs_bf16"`
	// Passes are each arm's measured passes: the sequential experiments'
	// repetitions, or the paired rounds.
	Passes int `json:"passes_per_arm"`
	// Looks is what the paired interval is corrected for (1: none).
	Looks int `json:"looks"`
	// Paired only: why the rounds ended, and the A/A row that came with
	// them, and whether the w8a8 interval overlaps its band (marked ~).
	Stop       *metrics.Stop `json:"stop,omitempty"`
	AA         *interval     `json:"aa,omitempty"`
	OverlapsAA *bool         `json:"w8a8_overlaps_aa,omitempty"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := pflag.NewFlagSet("bench-verdict", pflag.ContinueOnError)
	// Its own --runs, --target-ci and --max-repeat: the procedures it
	// compares are the stopping rule's subject here, not its pairs.
	fs.StringVar(&o.Rollbench, "rollbench", "bin/rollbench-inproc", "rollbench-inproc binary")
	fs.StringVar(&o.Out, "out", "benchmarks/verdict", "output files' path without extension (.json, .md)")
	fs.StringVar(&o.LogDir, "log-dir", "benchmark_logs/bench-verdict", "directory for each run's output")
	// Each paired run loads three engines: two runs of each procedure fit
	// the engine time this 2-core host can spare.
	fs.IntVar(&o.runs, "runs", 2, "runs of each procedure, alternating which goes first")
	fs.StringVar(&o.config, "config", "configs/tiny.yaml", "matrix config with the tiny model's bf16 and w8a8")
	fs.IntVar(&o.numPrompts, "num-prompts", 16, "prompts per pass")
	fs.IntVarP(&o.n, "n", "n", 4, "samples per prompt")
	fs.IntVar(&o.inputLen, "input-len", 128, "prompt tokens")
	fs.IntVar(&o.outputLen, "output-len", 64, "output tokens")
	fs.StringVar(&o.kvCache, "kv-cache-memory", "256MiB", "KV cache of each engine")
	fs.IntVar(&o.repeat, "repeat", 5, "passes of each sequential experiment")
	// Chosen from the spread measured here: the paired rounds' log ratios
	// vary by 0.35-0.55, so ±40% is reached at 12 or 18 rounds.
	fs.Float64Var(&o.targetCI, "target-ci", 0.40, "paired --target-ci")
	fs.IntVar(&o.maxRepeat, "max-repeat", 20, "paired --max-repeat (rounds)")
	fs.BoolVar(&o.rerender, "rerender", false, "run nothing: write the report again from the environment and runs in --out's .json (after a change to the report's text; the other flags must be the run's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.rerender {
		return rerender(o)
	}
	if err := os.MkdirAll(o.LogDir, 0o755); err != nil {
		return err
	}

	var samples []sample
	for i := range o.runs {
		for _, proc := range sidebyside.Order(i, sequential, paired) {
			s, err := runProcedure(ctx, o, proc, i)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "run %d %-10s process %6.1f s  %s\n", i, proc, s.WallSeconds, s.W8A8.format())
			samples = append(samples, s)
		}
	}
	// The sequential bf16 result holds the versions every run used.
	env, err := sidebyside.ReadEnvironment(filepath.Join(runDir(o, sequential, 0), "results", "tiny_bf16.json"))
	if err != nil {
		return err
	}
	data, md, err := report(o, env, samples)
	if err != nil {
		return err
	}
	return o.Write(data, md)
}

func rerender(o options) error {
	var prev struct {
		Environment sidebyside.Environment `json:"environment"`
		Samples     []sample               `json:"samples"`
	}
	if err := readJSON(o.Out+".json", &prev); err != nil {
		return err
	}
	data, md, err := report(o, prev.Environment, prev.Samples)
	if err != nil {
		return err
	}
	return o.Write(data, md)
}

func runDir(o options, proc string, i int) string {
	return filepath.Join(o.LogDir, fmt.Sprintf("%s-%d", proc, i))
}

// procedureArgs are rollbench-inproc's arguments for a procedure writing
// its results to out and its engine logs to logs.
func procedureArgs(o options, proc, out, logs string) []string {
	args := []string{"--config", o.config, "--quants", "bf16,w8a8"}
	if proc == paired {
		args = append(args, "--paired", "--repeat", "auto",
			"--target-ci", strconv.FormatFloat(o.targetCI, 'f', -1, 64), "--max-repeat", strconv.Itoa(o.maxRepeat))
	} else {
		args = append(args, "--repeat", strconv.Itoa(o.repeat))
	}
	return append(args, "--num-prompts", strconv.Itoa(o.numPrompts), "-n", strconv.Itoa(o.n),
		"--input-len", strconv.Itoa(o.inputLen), "--output-len", strconv.Itoa(o.outputLen),
		"--enforce-eager", "--kv-cache-memory", o.kvCache, "--output-dir", out, "--log-dir", logs)
}

func runProcedure(ctx context.Context, o options, proc string, i int) (sample, error) {
	out, wall, err := sidebyside.RunFresh(ctx, o.Rollbench, runDir(o, proc, i),
		func(out, logs string) []string { return procedureArgs(o, proc, out, logs) })
	if err != nil {
		return sample{}, fmt.Errorf("%s run %d: %w", proc, i, err)
	}
	var s sample
	if proc == paired {
		s, err = readPaired(out)
	} else {
		s, err = readSequential(out)
	}
	if err != nil {
		return s, fmt.Errorf("%s run %d: %w", proc, i, err)
	}
	s.Procedure, s.Run, s.WallSeconds = proc, i, wall
	return s, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readSequential compares the matrix's w8a8 and bf16 results in dir as the
// summary does: metrics.Compare over their repetitions.
func readSequential(dir string) (sample, error) {
	rates := map[string][]float64{}
	for _, q := range []string{baseLabel, quantLabel} {
		var r result.Offline
		path := filepath.Join(dir, "tiny_"+q+".json")
		if err := readJSON(path, &r); err != nil {
			return sample{}, err
		}
		if r.Status != result.StatusOK {
			return sample{}, fmt.Errorf("%s: status %s: %s", path, r.Status, r.Error)
		}
		for _, rep := range r.Repetitions {
			rates[q] = append(rates[q], rep.OutputTokensPerSecond)
		}
	}
	a, b := rates[quantLabel], rates[baseLabel]
	c, ok := metrics.Compare(a, b)
	if !ok {
		return sample{}, fmt.Errorf("%s: no comparison from %d and %d passes", dir, len(a), len(b))
	}
	iv := interval{Ratio: c.Ratio, Low: c.Low, High: c.High, Level: metrics.ConfidenceLevel, P: c.P, Significant: c.Significant}
	if c.Low != nil {
		hw := (*c.High - *c.Low) / 2 / c.Ratio
		iv.HalfWidth = &hw
	}
	return sample{W8A8: iv, Passes: min(len(a), len(b)), Looks: 1}, nil
}

// readPaired takes the w8a8 and A/A comparisons and the stop from the
// paired result in dir.
func readPaired(dir string) (sample, error) {
	var p result.Paired
	path := filepath.Join(dir, "tiny_paired.json")
	if err := readJSON(path, &p); err != nil {
		return sample{}, err
	}
	if p.Status != result.StatusOK {
		return sample{}, fmt.Errorf("%s: status %s: %s", path, p.Status, p.Error)
	}
	if p.Stop == nil {
		return sample{}, fmt.Errorf("%s: no stop: not a --repeat auto run", path)
	}
	byArm := map[string]metrics.PairedRatio{}
	for _, c := range p.Comparisons {
		byArm[c.Arm] = c.PairedRatio
	}
	w, ok := byArm[quantLabel]
	if !ok {
		return sample{}, fmt.Errorf("%s: no %s comparison", path, quantLabel)
	}
	aa, ok := byArm[aaLabel]
	if !ok {
		return sample{}, fmt.Errorf("%s: no %s row", path, aaLabel)
	}
	aaIv := pairedInterval(aa)
	overlaps := w.Overlaps(aa)
	return sample{W8A8: pairedInterval(w), Passes: p.Rounds, Looks: w.Looks, Stop: p.Stop, AA: &aaIv, OverlapsAA: &overlaps}, nil
}

func pairedInterval(r metrics.PairedRatio) interval {
	hw := r.HalfWidth()
	return interval{Ratio: r.Ratio, Low: &r.Low, High: &r.High, Level: r.Level, P: r.P, Significant: r.Significant, HalfWidth: &hw}
}

// format prints an interval as the summaries print a speedup:
// "1.245x ~ [0.935, 1.649] p=0.114", ~ marking a ratio not significant.
func (iv interval) format() string {
	s := fmt.Sprintf("%.3fx", iv.Ratio)
	if !iv.Significant {
		s += " ~"
	}
	if iv.Low == nil {
		return s + " [unbounded] p=" + metrics.PValue(iv.P)
	}
	return s + fmt.Sprintf(" [%.3f, %.3f] p=%s", *iv.Low, *iv.High, metrics.PValue(iv.P))
}

// halfWidth prints the half width as a percentage.
func (iv interval) halfWidth() string {
	if iv.HalfWidth == nil {
		return "unbounded"
	}
	return fmt.Sprintf("±%.1f%%", 100**iv.HalfWidth)
}

// spread is a figure's mean over runs with its extremes.
type spread struct {
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

func spreadOf(xs []float64) spread {
	s := spread{Mean: metrics.Mean(xs), Min: xs[0], Max: xs[0]}
	for _, x := range xs {
		s.Min, s.Max = min(s.Min, x), max(s.Max, x)
	}
	return s
}

func (s spread) format(scale float64, unit string) string {
	return fmt.Sprintf("%.1f%s (%.1f..%.1f)", scale*s.Mean, unit, scale*s.Min, scale*s.Max)
}

// across is one procedure over its runs: the mean wall time and half width
// with their extremes, how many runs gave a significant verdict, and how
// many of those the summary shows without ~, outside the A/A band (every
// significant one where there is no A/A row). HalfWidth is nil when a
// run's interval was unbounded.
type across struct {
	Runs        int     `json:"runs"`
	Wall        spread  `json:"wall_s"`
	HalfWidth   *spread `json:"half_width"`
	Significant int     `json:"significant_runs"`
	OutsideAA   int     `json:"significant_outside_aa_runs"`
}

func summarize(ss []sample) across {
	var wall, hw []float64
	a := across{Runs: len(ss)}
	for _, s := range ss {
		wall = append(wall, s.WallSeconds)
		if s.W8A8.HalfWidth != nil {
			hw = append(hw, *s.W8A8.HalfWidth)
		}
		if s.W8A8.Significant {
			a.Significant++
			if s.OverlapsAA == nil || !*s.OverlapsAA {
				a.OutsideAA++
			}
		}
	}
	a.Wall = spreadOf(wall)
	if len(hw) == len(ss) {
		h := spreadOf(hw)
		a.HalfWidth = &h
	}
	return a
}

func (a across) halfWidth() string {
	if a.HalfWidth == nil {
		return "unbounded in a run"
	}
	return "±" + a.HalfWidth.format(100, "%")
}

// goalVerdict says whether paired met "a narrower interval in less time"
// against sequential, on the means over the runs, and whether the runs'
// ranges keep apart.
func goalVerdict(seq, par across) string {
	faster := par.Wall.Mean < seq.Wall.Mean
	// An unbounded interval is wider than any bounded one.
	narrower := par.HalfWidth != nil && (seq.HalfWidth == nil || par.HalfWidth.Mean < seq.HalfWidth.Mean)
	var s string
	switch {
	case faster && narrower:
		s = "met: on average the paired runs reached a narrower interval in less time"
	case narrower:
		s = "not met: the paired runs' intervals were narrower on average, but they took longer"
	case faster:
		s = "not met: the paired runs took less time on average, but their intervals were not narrower"
	default:
		s = "not met: the paired runs took longer on average and their intervals were not narrower"
	}
	apart := par.Wall.Max < seq.Wall.Min || par.Wall.Min > seq.Wall.Max
	apartHW := par.HalfWidth != nil && seq.HalfWidth != nil &&
		(par.HalfWidth.Max < seq.HalfWidth.Min || par.HalfWidth.Min > seq.HalfWidth.Max)
	switch {
	case apart && apartHW:
		s += "; every run of one procedure was on the same side of every run of the other, in both"
	case apart:
		s += "; the wall times keep apart run by run, the half widths' ranges overlap"
	case apartHW:
		s += "; the half widths keep apart run by run, the wall times' ranges overlap"
	default:
		s += "; both ranges overlap run by run"
	}
	return s
}

// report is the JSON and Markdown of the runs.
func report(o options, env sidebyside.Environment, samples []sample) (data, md []byte, err error) {
	by := map[string][]sample{}
	for _, s := range samples {
		by[s.Procedure] = append(by[s.Procedure], s)
	}
	if len(by[sequential]) == 0 || len(by[paired]) == 0 {
		return nil, nil, fmt.Errorf("runs of both procedures needed, got %d sequential and %d paired", len(by[sequential]), len(by[paired]))
	}
	seq, par := summarize(by[sequential]), summarize(by[paired])
	rule, err := metrics.NewSequential(o.targetCI, o.maxRepeat)
	if err != nil {
		return nil, nil, err
	}
	verdict := goalVerdict(seq, par)
	workload := fmt.Sprintf("the built-in tiny Qwen3 model, %d prompts x n=%d, %d prompt + %d output tokens (ignore_eos), --enforce-eager, --kv-cache-memory %s per engine",
		o.numPrompts, o.n, o.inputLen, o.outputLen, o.kvCache)
	out := map[string]any{
		"environment": env, "workload": workload,
		"sequential_args": procedureArgs(o, sequential, "OUT", "LOGS"), "paired_args": procedureArgs(o, paired, "OUT", "LOGS"),
		"samples": samples, "sequential": seq, "paired": par, "goal": "a narrower interval in less time", "goal_verdict": verdict,
	}
	data, err = json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, nil, err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# Time to a verdict: `--paired --repeat auto` vs the sequential matrix with `--repeat %d`\n\n", o.repeat)
	fmt.Fprintf(&b, "%s\n\n", env.Measured())
	fmt.Fprintf(&b, "Workload, the same for both: %s. Both run `rollbench-inproc --config %s --quants bf16,w8a8`, %d times each, "+
		"alternating which goes first (A B, B A), each a fresh process with its own output directory; the wall time is the whole process. "+
		"Regenerate with `make bench-verdict`.\n\n", workload, o.config, o.runs)
	fmt.Fprintf(&b, "- **sequential**: `--repeat %d`: bf16, then w8a8, each its own experiment (a child process, its own engine load) with %d passes on one engine; "+
		"w8a8/bf16 as the summary computes it (%s).\n", o.repeat, o.repeat, sequentialMethod)
	fmt.Fprintf(&b, "- **paired**: `--paired --repeat auto --target-ci %g --max-repeat %d`: bf16, w8a8 and the A/A bf16 arm (on by default, as a user gets it) "+
		"loaded in one experiment process and measured in alternating rounds; w8a8/bf16 is the geometric mean of the per-round ratios with Student's t interval on their logs; "+
		"the rule: %s.\n\n", o.targetCI, o.maxRepeat, rule.Method())
	fmt.Fprintf(&b, "Why ±%.0f%% and %d rounds: the passes here take under a second and vary by 20-40%%, the rounds' log ratios by 0.35-0.55 "+
		"(measured on this host by the paired end-to-end runs before this benchmark); at the rule's corrected level that puts the half width within ±%.0f%% after 12 or 18 rounds, "+
		"so that the run stops by the rule before --max-repeat, and the target is about what the sequential procedure's 5+5 passes give at a CV of 20-30%%. "+
		"%s\n\n",
		100*o.targetCI, o.maxRepeat, 100*o.targetCI, stops(by[paired]))

	fmt.Fprintf(&b, "| | sequential `--repeat %d` | paired `--repeat auto` |\n|---|---|---|\n", o.repeat)
	fmt.Fprintf(&b, "| runs | %d | %d |\n", seq.Runs, par.Runs)
	fmt.Fprintf(&b, "| whole process, s, mean (min..max) | %s | %s |\n", seq.Wall.format(1, ""), par.Wall.format(1, ""))
	fmt.Fprintf(&b, "| w8a8/bf16 half width, mean (min..max) | %s | %s |\n", seq.halfWidth(), par.halfWidth())
	fmt.Fprintf(&b, "| runs with w8a8 significant (p < %.2f) | %d of %d | %d of %d |\n", metrics.Alpha, seq.Significant, seq.Runs, par.Significant, par.Runs)
	fmt.Fprintf(&b, "| of those, shown without ~ (outside the A/A band) | %d (no A/A row) | %d |\n\n", seq.OutsideAA, par.OutsideAA)
	fmt.Fprintf(&b, "**Goal, a narrower interval in less time: %s.**\n\n", verdict)

	fmt.Fprintf(&b, "The half width is the w8a8 row's; the rule stops on the widest of the paired rows, w8a8's and the A/A row's (the stop column's figure).\n\n")
	fmt.Fprintf(&b, "| run | procedure | process s | w8a8/bf16 | level | half width | passes per arm | stop | A/A band |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range samples {
		stop, aa := "fixed", "none"
		if s.Stop != nil {
			stop = s.Stop.Reason
		}
		if s.AA != nil {
			aa = s.AA.format()
			if *s.OverlapsAA {
				aa += "; w8a8 overlaps it (~)"
			}
		}
		fmt.Fprintf(&b, "| %d | %s | %.1f | %s | %.2f%% | %s | %d | %s | %s |\n",
			s.Run, s.Procedure, s.WallSeconds, s.W8A8.format(), 100*s.W8A8.Level, s.W8A8.halfWidth(), s.Passes, stop, aa)
	}
	fmt.Fprintf(&b, "\n%s\n", explain(o, rule, seq, par, by[paired]))
	return append(data, '\n'), []byte(b.String()), nil
}

// stops says where the paired runs ended.
func stops(ss []sample) string {
	var byRule, atMax []string
	for _, s := range ss {
		if s.Stop == nil {
			continue
		}
		at := fmt.Sprintf("run %d after %d rounds at ±%.1f%%", s.Run, s.Stop.Passes, 100*s.Stop.HalfWidth)
		if s.Stop.Reached {
			byRule = append(byRule, at)
		} else {
			atMax = append(atMax, at)
		}
	}
	join := func(xs []string) string {
		if len(xs) == 0 {
			return "none"
		}
		return strings.Join(xs, ", ")
	}
	return fmt.Sprintf("As run, %d of %d paired runs stopped by the rule (%s) and %d at --max-repeat (%s).",
		len(byRule), len(ss), join(byRule), len(atMax), join(atMax))
}

// explain is what the figures mean, from the figures.
func explain(o options, rule metrics.Sequential, seq, par across, pairedRuns []sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "What the numbers mean: a sequential run's interval comes from the spread of each experiment's own %d passes, "+
		"and the two experiments are separate processes, loaded and measured one after the other: drift between them (clocks, other tenants, heat) "+
		"moves the ratio but is not in its interval, so the interval can be narrower than the ratio's real uncertainty. "+
		"The paired interval comes from ratios within rounds of one process, so drift that moves a whole round cancels, and what remains is in the interval. ",
		o.repeat)
	fmt.Fprintf(&b, "It is also corrected for the rule's %d looks, at level %.2f%% instead of 95%%, wider for the same rounds than a fixed count's would be. ",
		rule.NumLooks(), 100*(1-rule.Alpha()))
	fmt.Fprintf(&b, "Here the paired runs took %.0f%% of the sequential runs' time on average (three engine loads in one process, against two loads in two)", 100*par.Wall.Mean/seq.Wall.Mean)
	if par.HalfWidth != nil && seq.HalfWidth != nil {
		fmt.Fprintf(&b, " for %.0f%% of their half width", 100*par.HalfWidth.Mean/seq.HalfWidth.Mean)
	}
	b.WriteString(". A paired run's time grows with the rounds the rule takes (")
	sep := ""
	for _, smp := range pairedRuns {
		fmt.Fprintf(&b, "%s%.0f s for %d rounds", sep, smp.WallSeconds, smp.Passes)
		sep = ", "
	}
	fmt.Fprintf(&b, "); the wall times ranged over %.0f..%.0f s (sequential) and %.0f..%.0f s (paired)", seq.Wall.Min, seq.Wall.Max, par.Wall.Min, par.Wall.Max)
	if par.Wall.Max < seq.Wall.Min || par.Wall.Min > seq.Wall.Max {
		b.WriteString(", apart; ")
	} else {
		fmt.Fprintf(&b, ", overlapping: this shared host's other load moves them as well, and %d runs of each do not settle the difference in time; ", min(seq.Runs, par.Runs))
	}
	switch {
	case seq.Significant+par.Significant == 0:
		b.WriteString("neither gave a significant verdict on w8a8 in any run, so on this host neither tells w8a8 from bf16 at this workload.")
	default:
		fmt.Fprintf(&b, "%d of %d sequential and %d of %d paired runs found w8a8 significant (%d of the paired ones outside the A/A band, as the summary requires for a mark without ~).",
			seq.Significant, seq.Runs, par.Significant, par.Runs, par.OutsideAA)
	}
	return b.String()
}

// sequentialMethod is how a summary compares two rows measured apart.
const sequentialMethod = "ratio of the means with Fieller's 95% interval and Welch's t-test p, ~ when not significant at alpha 0.05; a goal is met only when the whole interval is at or above it"
