// Command bench-ray measures what going through Ray costs a rollout step:
// rollbench-inproc with one engine in its own process against the same
// run with --data-parallel-size 1, the one engine a Ray actor the step is
// handed to (dispatch split), on the same workload of the built-in tiny
// model. The two alternate run by run, each a fresh process; run i of
// each makes pair i, and the step-time ratio (through Ray / in process)
// comes from the pairs, so that the machine's drift over the session
// cancels. Beside it go the costs only Ray has, which its results time
// exactly: joining the cluster, placing the replica, starting its actor,
// and each step's hand-out and per-call overhead. It writes the figures,
// with the machine and versions, to benchmarks/ray.{md,json}.
package main

import (
	"context"
	"encoding/json"
	"errors"
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

func main() { sidebyside.Main("bench-ray", run) }

// The two arms: one engine in rollbench's process, and the same engine as
// a Ray actor.
const (
	inProcess  = "in-process"
	throughRay = "ray"
)

// goal is the bound on the step-time ratio, through Ray over in
// process.
const goal = 1.02

// defaultRuns is --runs' default, which the report names when fewer ran.
const defaultRuns = 5

type options struct {
	sidebyside.Common
	runs, repeat                       int
	numPrompts, n, inputLen, outputLen int
	kvCache                            string
}

// rayFigures are what only the Ray arm's result has. The step's figures
// are its first measured pass's, the only one the result keeps them for.
type rayFigures struct {
	ConnectS float64 `json:"connect_s"`
	PlaceS   float64 `json:"place_s"`
	// StartS is the actor's start and its engine load; ReplicaLoadS is the
	// engine load alone, as the actor timed it.
	StartS        float64 `json:"start_s"`
	ReplicaLoadS  float64 `json:"replica_load_s"`
	HandoutS      float64 `json:"handout_s"`
	CallOverheadS float64 `json:"call_overhead_s"`
}

// ActorStartS is what starting the actor took beyond its engine load.
func (f rayFigures) ActorStartS() float64 { return f.StartS - f.ReplicaLoadS }

// runFigures are what one run's result says.
type runFigures struct {
	Arm  string `json:"arm"`
	Pair int    `json:"pair"`
	// Generate is the mean of Passes, each pass's step makespan.
	Generate float64   `json:"generate_s"`
	Passes   []float64 `json:"passes_generate_s"`
	// Load is the whole load: with Ray, joining the cluster, placement and
	// the actor's start.
	Load float64     `json:"load_s"`
	Ray  *rayFigures `json:"ray,omitempty"`
	// WallS is the whole process, from exec to exit. LoadAverage is the
	// host's 1-minute load average as the run began, nil where the system
	// does not say: other work on the host is what widens the interval.
	WallS       float64  `json:"wall_s"`
	LoadAverage *float64 `json:"load_average_1m,omitempty"`
}

// costs are the Ray arm's own costs over its runs, beside the in-process
// load they stand against.
type costs struct {
	Connect      sidebyside.Spread `json:"connect_s"`
	Place        sidebyside.Spread `json:"place_s"`
	Start        sidebyside.Spread `json:"start_s"`
	ReplicaLoad  sidebyside.Spread `json:"replica_load_s"`
	ActorStart   sidebyside.Spread `json:"actor_start_s"`
	RayLoad      sidebyside.Spread `json:"ray_load_s"`
	InProcLoad   sidebyside.Spread `json:"in_process_load_s"`
	Handout      sidebyside.Spread `json:"handout_s"`
	CallOverhead sidebyside.Spread `json:"call_overhead_s"`
	// CallOverheadShare is the call overhead over the run's mean step.
	CallOverheadShare sidebyside.Spread `json:"call_overhead_share"`
}

type report struct {
	Environment sidebyside.Environment `json:"environment"`
	Workload    string                 `json:"workload"`
	Args        map[string][]string    `json:"args"`
	Runs        []runFigures           `json:"runs"`
	// Ratio is the Ray arm's mean step over the in-process arm's, pair by
	// pair; PairRatios each pair's.
	Ratio      metrics.PairedRatio `json:"ratio"`
	PairRatios []float64           `json:"pair_ratios"`
	Costs      costs               `json:"ray_costs"`
	Goal       float64             `json:"goal"`
	Verdict    string              `json:"goal_verdict"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := pflag.NewFlagSet("bench-ray", pflag.ContinueOnError)
	fs.StringVar(&o.Rollbench, "rollbench", "bin/rollbench-inproc", "rollbench-inproc binary")
	fs.StringVar(&o.Out, "out", "benchmarks/ray", "output files' path without extension (.json, .md)")
	fs.StringVar(&o.LogDir, "log-dir", "benchmark_logs/bench-ray", "directory for each run's results and output")
	fs.IntVar(&o.runs, "runs", defaultRuns, "pairs of runs (each arm once per pair, alternating which goes first)")
	fs.IntVar(&o.repeat, "repeat", 3, "measured passes of each run, whose mean step time the ratio compares")
	fs.IntVar(&o.numPrompts, "num-prompts", 32, "prompts in the step")
	fs.IntVarP(&o.n, "n", "n", 8, "samples per prompt")
	fs.IntVar(&o.inputLen, "input-len", 512, "prompt tokens")
	fs.IntVar(&o.outputLen, "output-len", 256, "output tokens")
	fs.StringVar(&o.kvCache, "kv-cache-memory", "1GiB", "KV cache of the engine")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.runs < 2 || o.repeat < 1 {
		return errors.New("--runs must be at least 2 (an interval), --repeat at least 1")
	}
	rep := report{Args: map[string][]string{}}
	for _, arm := range []string{inProcess, throughRay} {
		rep.Args[arm] = armArgs(o, arm, "OUT", "LOGS")
	}
	for i := range o.runs {
		for _, arm := range sidebyside.Order(i, inProcess, throughRay) {
			fmt.Fprintf(stdout, "pair %d of %d: %s\n", i+1, o.runs, arm)
			f, err := runArm(ctx, o, arm, i)
			if err != nil {
				return err
			}
			rep.Runs = append(rep.Runs, f)
		}
	}
	// The first in-process result holds the versions every run used.
	env, err := sidebyside.ReadEnvironment(filepath.Join(runDir(o, inProcess, 0), "results", "tiny_bf16.json"))
	if err != nil {
		return err
	}
	rep.Environment = env
	rep.Workload = fmt.Sprintf("the built-in tiny Qwen3 model, %d prompts x n=%d, %d prompt + %d output tokens (ignore_eos), sync rollout mode, --enforce-eager, --kv-cache-memory %s, --repeat %d",
		o.numPrompts, o.n, o.inputLen, o.outputLen, o.kvCache, o.repeat)
	if err := summarize(&rep); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	md := render(rep)
	if err := o.Write(append(data, '\n'), md); err != nil {
		return err
	}
	_, err = stdout.Write(md)
	return err
}

func runDir(o options, arm string, i int) string {
	return filepath.Join(o.LogDir, fmt.Sprintf("%s-%d", arm, i))
}

// armArgs are rollbench-inproc's arguments for an arm's run writing its
// result to out and its engine log to logs.
func armArgs(o options, arm, out, logs string) []string {
	args := []string{"--num-prompts", strconv.Itoa(o.numPrompts), "-n", strconv.Itoa(o.n),
		"--input-len", strconv.Itoa(o.inputLen), "--output-len", strconv.Itoa(o.outputLen),
		"--repeat", strconv.Itoa(o.repeat), "--enforce-eager", "--kv-cache-memory", o.kvCache}
	if arm == throughRay {
		args = append(args, "--data-parallel-size", "1", "--dispatch", "split")
	}
	return append(args, "--name", "tiny_bf16", "--output-dir", out, "--log-dir", logs)
}

func runArm(ctx context.Context, o options, arm string, i int) (runFigures, error) {
	load := loadAverage()
	out, wall, err := sidebyside.RunFresh(ctx, o.Rollbench, runDir(o, arm, i), func(out, logs string) []string { return armArgs(o, arm, out, logs) })
	if err != nil {
		return runFigures{}, fmt.Errorf("%s run %d: %w", arm, i+1, err)
	}
	f, err := readRun(filepath.Join(out, "tiny_bf16.json"), arm == throughRay)
	if err != nil {
		return runFigures{}, fmt.Errorf("%s run %d: %w", arm, i+1, err)
	}
	f.Arm, f.Pair, f.WallS, f.LoadAverage = arm, i, wall, load
	return f, nil
}

// loadAverage is the 1-minute load average from /proc/loadavg, nil where
// there is none to read.
func loadAverage() *float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return nil
	}
	l, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return nil
	}
	return &l
}

// readRun reads a run's figures from its result; ray says whether the run
// went through Ray, and its result must then hold the replica's record.
func readRun(path string, ray bool) (runFigures, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return runFigures{}, err
	}
	var r result.Offline
	if err := json.Unmarshal(data, &r); err != nil {
		return runFigures{}, fmt.Errorf("%s: %w", path, err)
	}
	if r.Status != result.StatusOK || len(r.Repetitions) == 0 {
		return runFigures{}, fmt.Errorf("%s: status %s, %d passes: %s", path, r.Status, len(r.Repetitions), r.Error)
	}
	f := runFigures{Load: r.Timings.Load}
	for _, p := range r.Repetitions {
		f.Passes = append(f.Passes, p.GenerateS)
	}
	f.Generate = metrics.Mean(f.Passes)
	switch rr := r.Replicas; {
	case !ray && rr != nil:
		return runFigures{}, fmt.Errorf("%s: ran on Ray replicas, not in process", path)
	case ray && (rr == nil || len(rr.Placement.Replicas) != 1):
		return runFigures{}, fmt.Errorf("%s: no record of one Ray replica", path)
	case ray:
		f.Ray = &rayFigures{ConnectS: rr.Cluster.ConnectS, PlaceS: rr.Placement.PlaceS, StartS: rr.Placement.StartS,
			ReplicaLoadS: rr.Placement.Replicas[0].LoadS, HandoutS: rr.HandoutS, CallOverheadS: rr.CallOverheadS.Mean}
	}
	return f, nil
}

// summarize pairs the runs for the ratio and its verdict, and gathers the
// Ray arm's costs.
func summarize(rep *report) error {
	byPair := map[string][]runFigures{}
	for _, f := range rep.Runs {
		byPair[f.Arm] = append(byPair[f.Arm], f)
	}
	inProc, ray := byPair[inProcess], byPair[throughRay]
	if len(inProc) != len(ray) || len(ray) < 2 {
		return fmt.Errorf("%d in-process and %d Ray runs do not make two pairs or more", len(inProc), len(ray))
	}
	var a, b []float64
	var c struct{ connect, place, start, replicaLoad, actorStart, rayLoad, inProcLoad, handout, overhead, share []float64 }
	for i := range ray {
		if inProc[i].Pair != ray[i].Pair {
			return fmt.Errorf("run %d: pair %d in process against pair %d through Ray", i, inProc[i].Pair, ray[i].Pair)
		}
		a, b = append(a, inProc[i].Generate), append(b, ray[i].Generate)
		rf := ray[i].Ray
		c.connect, c.place, c.start = append(c.connect, rf.ConnectS), append(c.place, rf.PlaceS), append(c.start, rf.StartS)
		c.replicaLoad, c.actorStart = append(c.replicaLoad, rf.ReplicaLoadS), append(c.actorStart, rf.ActorStartS())
		c.rayLoad, c.inProcLoad = append(c.rayLoad, ray[i].Load), append(c.inProcLoad, inProc[i].Load)
		c.handout, c.overhead = append(c.handout, rf.HandoutS), append(c.overhead, rf.CallOverheadS)
		c.share = append(c.share, rf.CallOverheadS/ray[i].Generate)
		rep.PairRatios = append(rep.PairRatios, b[i]/a[i])
	}
	r, ok := metrics.Paired(b, a, 1)
	if !ok {
		return fmt.Errorf("step times %v through Ray and %v in process: a figure is not positive", b, a)
	}
	rep.Ratio, rep.Goal = r, goal
	rep.Costs = costs{Connect: sidebyside.SpreadOf(c.connect), Place: sidebyside.SpreadOf(c.place), Start: sidebyside.SpreadOf(c.start),
		ReplicaLoad: sidebyside.SpreadOf(c.replicaLoad), ActorStart: sidebyside.SpreadOf(c.actorStart),
		RayLoad: sidebyside.SpreadOf(c.rayLoad), InProcLoad: sidebyside.SpreadOf(c.inProcLoad),
		Handout: sidebyside.SpreadOf(c.handout), CallOverhead: sidebyside.SpreadOf(c.overhead), CallOverheadShare: sidebyside.SpreadOf(c.share)}
	rep.Verdict = sidebyside.AtMost(r.Low, r.High, goal, "the")
	return nil
}

func render(rep report) []byte {
	var b strings.Builder
	r := rep.Ratio
	b.WriteString("# What going through Ray costs a step\n\n")
	fmt.Fprintf(&b, "%s\n\n", rep.Environment.Measured())
	fmt.Fprintf(&b, "Workload, the same for both arms: %s. "+
		"**in-process** is `rollbench-inproc` with its one engine in its own process (`LLM.generate`); "+
		"**ray** adds `--data-parallel-size 1 --dispatch split`: the same engine as a Ray actor on a cluster rollbench starts on this machine, "+
		"the step handed to it in one call (the actor runs vLLM's `AsyncLLM`, as verl's rollout server does). "+
		"%d pairs, each one run of each arm, alternating which goes first, every run a fresh process. "+
		"A run's step time is the mean generate time (the step's makespan, timed from Go) of its %d measured passes after the warm-up; "+
		"the ratio is ray over in-process pair by pair: the geometric mean of the pair ratios, with Student's t interval on their logarithms at %.0f%% (metrics.Paired). "+
		"Regenerate with `make bench-ray`.\n\n",
		rep.Workload, r.Rounds, len(rep.Runs[0].Passes), 100*r.Level)
	var wall float64
	for _, f := range rep.Runs {
		wall += f.WallS
	}
	fmt.Fprintf(&b, "The %d runs took %.0f min in all, %.1f min a pair on average.", len(rep.Runs), wall/60, wall/60/float64(r.Rounds))
	if r.Rounds < defaultRuns {
		fmt.Fprintf(&b, " That is fewer pairs than the default %d: on this host more would not have fit in the ~25 min the benchmark was given.", defaultRuns)
	}
	b.WriteString("\n\n")
	sig := ""
	if !r.Significant {
		sig = " ~"
	}
	fmt.Fprintf(&b, "| | step time, ray / in-process |\n|---|---|\n")
	fmt.Fprintf(&b, "| ratio (%.0f%% interval) | %.3f%s [%.3f, %.3f], p=%s, %d pairs |\n", 100*r.Level, r.Ratio, sig, r.Low, r.High, metrics.PValue(r.P), r.Rounds)
	fmt.Fprintf(&b, "| half width | ±%.1f%% |\n\n", 100*r.HalfWidth())
	fmt.Fprintf(&b, "Goal: a ratio of at most %.2f. **Verdict: %s.**", rep.Goal, rep.Verdict)
	if r.Low <= rep.Goal && r.High > rep.Goal {
		fmt.Fprintf(&b, " This machine's noise leaves the interval ±%.1f%% wide, more than the %.0f%% the goal asks to resolve: "+
			"these pairs cannot decide it, and the Ray-only costs below, which the results time exactly, say what Ray adds.", 100*r.HalfWidth(), 100*(rep.Goal-1))
	}
	b.WriteString("\n\n")

	c := rep.Costs
	b.WriteString("What only the ray arm pays, timed by its results; median (min..max) over its runs:\n\n| cost | s |\n|---|---|\n")
	row := func(name string, s sidebyside.Spread, prec int) {
		fmt.Fprintf(&b, "| %s | %.*f (%.*f..%.*f) |\n", name, prec, s.Median, prec, s.Min, prec, s.Max)
	}
	row("starting the local cluster and connecting to it (`cluster.connect_s`)", c.Connect, 2)
	row("placing the replica (placement group ready: `placement.place_s`)", c.Place, 3)
	row("actor start + engine load (`placement.start_s`)", c.Start, 2)
	row("of which the engine load inside the actor (`placement.replicas[0].load_s`)", c.ReplicaLoad, 2)
	row("of which the actor's start beyond it", c.ActorStart, 2)
	row("whole load through Ray (`timings.load_s`)", c.RayLoad, 2)
	row("whole load in process, the in-process arm (`timings.load_s`)", c.InProcLoad, 2)
	row("per step: hand-out, until the call was sent (`handout_s`)", c.Handout, 4)
	row("per step: call overhead, the driver's wait less the replica's own time (`call_overhead_s` mean)", c.CallOverhead, 4)
	fmt.Fprintf(&b, "\nThe step figures are each run's first measured pass (the result keeps them for that pass); with one replica the step is one call, whose overhead includes its hand-out. "+
		"The call overhead is %.2f%% (%.2f..%.2f%%) of the ray arm's step time: the share of the step Ray itself adds, where the ratio's distance from 1 also holds the engine's other path inside the actor.\n\n",
		100*c.CallOverheadShare.Median, 100*c.CallOverheadShare.Min, 100*c.CallOverheadShare.Max)

	b.WriteString("Per run (the load average is the host's over the minute before the run began: what else ran beside it):\n\n" +
		"| pair | arm | step s (mean) | passes s | load s | process s | load average | ray / in-process |\n|---|---|---|---|---|---|---|---|\n")
	for _, f := range rep.Runs {
		passes := make([]string, len(f.Passes))
		for i, p := range f.Passes {
			passes[i] = fmt.Sprintf("%.2f", p)
		}
		ratio := ""
		if f.Arm == throughRay {
			ratio = fmt.Sprintf("%.3f", rep.PairRatios[f.Pair])
		}
		load := "n/a"
		if f.LoadAverage != nil {
			load = fmt.Sprintf("%.2f", *f.LoadAverage)
		}
		fmt.Fprintf(&b, "| %d | %s | %.2f | %s | %.2f | %.1f | %s | %s |\n", f.Pair+1, f.Arm, f.Generate, strings.Join(passes, ", "), f.Load, f.WallS, load, ratio)
	}
	return []byte(b.String())
}
