// Command bench-mismatch measures what --mismatch costs on the default
// workload (32 prompts x n=8, 512 + 256 tokens) of the built-in tiny model:
// the scored pass and the HF reference's scoring as a share of the measured
// generate, for rollbench's default (the first --mismatch-prompts 4 prompts
// scored) beside scoring every sample, which is what a script that
// re-generates the step with log-probs and scores it with transformers
// does. The two alternate run by run in fresh processes; each run measures
// --repeat passes, so its ratio is over the mean of its own passes. It
// writes the figures, with the machine and versions, to
// benchmarks/mismatch.{md,json}.
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

func main() { sidebyside.Main("bench-mismatch", run) }

// The two arms: rollbench's default, and every prompt scored.
const (
	sampled = "sampled"
	all     = "all"
)

// goal is the bound on the default arm's ratio.
const goal = 0.5

type options struct {
	rollbench, out, logDir string
	runs, repeat, prompts  int
}

// runFigures are what one run's result says.
type runFigures struct {
	Arm string `json:"arm"`
	// Generate is the mean of the run's measured passes.
	Generate float64                `json:"generate_s"`
	Timings  result.MismatchTimings `json:"mismatch_timings"`
	// Ratio is (scored pass + reference scoring) / Generate.
	Ratio        float64 `json:"ratio"`
	ScoredTokens int     `json:"scored_tokens"`
	K3KL         float64 `json:"k3_kl"`
}

// armSummary is one arm over its runs.
type armSummary struct {
	Arm     string           `json:"arm"`
	Prompts int              `json:"mismatch_prompts"`
	Ratio   metrics.Estimate `json:"ratio"`
	// The means over runs of the parts timed apart.
	Generate     float64 `json:"generate_s"`
	Warmup       float64 `json:"scored_warmup_s"`
	Scored       float64 `json:"scored_pass_s"`
	Write        float64 `json:"write_samples_s"`
	RefLoad      float64 `json:"reference_load_s"`
	RefScore     float64 `json:"reference_score_s"`
	ScoredTokens int     `json:"scored_tokens"`
	K3KL         float64 `json:"k3_kl_mean"`
}

type report struct {
	Environment sidebyside.Environment `json:"environment"`
	Workload    string                 `json:"workload"`
	Runs        []runFigures           `json:"runs"`
	Arms        []armSummary           `json:"arms"`
	Goal        float64                `json:"goal"`
	Verdict     string                 `json:"goal_verdict"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o := options{}
	fs := pflag.NewFlagSet("bench-mismatch", pflag.ContinueOnError)
	fs.StringVar(&o.rollbench, "rollbench", "bin/rollbench-inproc", "rollbench-inproc binary")
	fs.StringVar(&o.out, "out", "benchmarks/mismatch", "output files' path without extension (.json, .md)")
	fs.StringVar(&o.logDir, "log-dir", "benchmark_logs/bench-mismatch", "directory for each run's results and output")
	fs.IntVar(&o.runs, "runs", 5, "runs of each arm, alternating which goes first")
	fs.IntVar(&o.repeat, "repeat", 3, "measured passes of each run, whose mean generate time the ratio divides by")
	fs.IntVar(&o.prompts, "mismatch-prompts", 4, "the default arm's --mismatch-prompts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.runs < 2 || o.repeat < 1 || o.prompts < 1 {
		return fmt.Errorf("--runs must be at least 2 (an interval), --repeat and --mismatch-prompts at least 1")
	}
	var rep report
	var envFrom string
	for i := range o.runs {
		for _, arm := range sidebyside.Order(i, sampled, all) {
			fmt.Fprintf(stdout, "run %d of %d: %s\n", i+1, o.runs, arm)
			f, path, err := runArm(ctx, o, arm, i)
			if err != nil {
				return err
			}
			rep.Runs = append(rep.Runs, f)
			envFrom = path
		}
	}
	env, err := sidebyside.ReadEnvironment(envFrom)
	if err != nil {
		return err
	}
	rep.Environment = env
	rep.Workload = fmt.Sprintf("the built-in tiny Qwen3 model, rollbench's default workload (32 prompts x n=8, 512 prompt + 256 output tokens, ignore_eos), --enforce-eager, --repeat %d, --reference hf", o.repeat)
	summarize(&rep, o.prompts)
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	md := render(rep)
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(o.out+".json", append(data, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(o.out+".md", md, 0o644); err != nil {
		return err
	}
	_, err = stdout.Write(md)
	return err
}

// armArgs are rollbench-inproc's arguments for an arm's run.
func armArgs(o options, arm, out, logs string) []string {
	prompts := o.prompts
	if arm == all {
		prompts = 0
	}
	return []string{"--mismatch", "--mismatch-prompts", strconv.Itoa(prompts), "--repeat", strconv.Itoa(o.repeat),
		"--enforce-eager", "--name", "tiny_bf16", "--output-dir", out, "--log-dir", logs}
}

func runArm(ctx context.Context, o options, arm string, i int) (runFigures, string, error) {
	out, _, err := sidebyside.RunFresh(ctx, o.rollbench, filepath.Join(o.logDir, fmt.Sprintf("%s-%d", arm, i)),
		func(out, logs string) []string { return armArgs(o, arm, out, logs) })
	if err != nil {
		return runFigures{}, "", fmt.Errorf("%s run %d: %w", arm, i+1, err)
	}
	path := filepath.Join(out, "tiny_bf16.json")
	f, err := readRun(path)
	f.Arm = arm
	return f, path, err
}

// readRun reads a run's figures from its result.
func readRun(path string) (runFigures, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return runFigures{}, err
	}
	var r result.Offline
	if err := json.Unmarshal(data, &r); err != nil {
		return runFigures{}, fmt.Errorf("%s: %w", path, err)
	}
	m := r.Mismatch
	if r.Status != result.StatusOK || m == nil || m.Metrics == nil || len(r.Repetitions) == 0 {
		return runFigures{}, fmt.Errorf("%s: status %s, no mismatch figures or passes (%s %v)", path, r.Status, r.Error, m)
	}
	gen := make([]float64, len(r.Repetitions))
	for i, rep := range r.Repetitions {
		gen[i] = rep.GenerateS
	}
	f := runFigures{Generate: metrics.NewEstimate(gen).Mean, Timings: m.Timings, ScoredTokens: m.Metrics.K3KL.Count, K3KL: m.Metrics.K3KL.Value}
	f.Ratio = m.Timings.Cost() / f.Generate
	return f, nil
}

// summarize fills each arm's figures over its runs and the verdict.
func summarize(rep *report, prompts int) {
	rep.Goal = goal
	for _, arm := range []string{sampled, all} {
		s := armSummary{Arm: arm, Prompts: prompts}
		if arm == all {
			s.Prompts = 0
		}
		var ratios []float64
		mean := func(get func(runFigures) float64) float64 {
			var xs []float64
			for _, f := range rep.Runs {
				if f.Arm == arm {
					xs = append(xs, get(f))
				}
			}
			return metrics.NewEstimate(xs).Mean
		}
		for _, f := range rep.Runs {
			if f.Arm == arm {
				ratios = append(ratios, f.Ratio)
				s.ScoredTokens = f.ScoredTokens
			}
		}
		s.Ratio = metrics.NewEstimate(ratios)
		s.Generate = mean(func(f runFigures) float64 { return f.Generate })
		s.Warmup = mean(func(f runFigures) float64 { return f.Timings.ScoredWarmup })
		s.Scored = mean(func(f runFigures) float64 { return f.Timings.ScoredPass })
		s.Write = mean(func(f runFigures) float64 { return f.Timings.WriteSamples })
		s.RefLoad = mean(func(f runFigures) float64 { return f.Timings.ReferenceLoad })
		s.RefScore = mean(func(f runFigures) float64 { return f.Timings.ReferenceScore })
		s.K3KL = mean(func(f runFigures) float64 { return f.K3KL })
		rep.Arms = append(rep.Arms, s)
	}
	r := rep.Arms[0].Ratio
	rep.Verdict = sidebyside.AtMost(r.Low, r.High, goal, "the default's")
}

func render(rep report) []byte {
	var b strings.Builder
	b.WriteString("# What --mismatch costs\n\n")
	fmt.Fprintf(&b, "%s\n\n", rep.Environment.Measured())
	fmt.Fprintf(&b, "Workload: %s. %d runs of each arm, alternating which goes first, each in a fresh process. "+
		"A run's ratio is (scored pass + reference scoring) / the mean generate time of its own measured passes; "+
		"the interval is Student's t at 95%% over the runs (metrics.NewEstimate). "+
		"The warm-up of the scored pass (vLLM compiles its log-prob ranking on first use), writing the samples and loading the reference are timed apart and left out of the ratio, as the issue defines it.\n\n",
		rep.Workload, len(rep.Runs)/2)
	b.WriteString("| arm | prompts scored | tokens scored | ratio (95% CI) | generate s | scored pass s | reference score s | warm-up s | write s | reference load s | k3_kl |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, a := range rep.Arms {
		name, prompts := "rollbench --mismatch (default)", strconv.Itoa(a.Prompts)
		if a.Arm == all {
			name, prompts = "every sample scored (--mismatch-prompts 0, as a by-hand script does)", "all"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.3f [%.3f, %.3f] | %.2f | %.2f | %.2f | %.2f | %.3f | %.2f | %.2e |\n",
			name, prompts, a.ScoredTokens, a.Ratio.Mean, a.Ratio.Low, a.Ratio.High, a.Generate, a.Scored, a.RefScore, a.Warmup, a.Write, a.RefLoad, a.K3KL)
	}
	fmt.Fprintf(&b, "\nGoal: a ratio of at most %.2f with --reference hf. Verdict: %s.\n\n", rep.Goal, rep.Verdict)
	b.WriteString("Per run:\n\n| arm | generate s | scored pass s | reference score s | ratio |\n|---|---|---|---|---|\n")
	for _, f := range rep.Runs {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.3f |\n", f.Arm, f.Generate, f.Timings.ScoredPass, f.Timings.ReferenceScore, f.Ratio)
	}
	return []byte(b.String())
}
