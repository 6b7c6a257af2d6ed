//go:build !nopython

// Paired runs one paired experiment: engines of one model loaded side by
// side in this process, then measured in rounds, one pass of each per
// round, on the same prompts. Drift over the minutes an experiment takes
// moves every pass of a round alike and cancels in the round's ratios,
// where two experiments run one after the other carry it straight into
// their speedup.

package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/internal/sys"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload"
)

// countersWarning is what every arm says instead of its engine counters:
// vLLM registers its Prometheus metrics in one registry per process, and
// each engine it creates unregisters the last one's, so that LLM.get_metrics
// would show every arm the counters of the engine loaded last.
const countersWarning = "engine counters not recorded: vLLM's metrics registry is one per process, and a paired experiment's engines share this process"

// Paired performs the experiment. Its result holds every arm's record, and
// on failure whatever was measured with every arm failed; it is nil only
// when ctx was done before anything ran.
func Paired(ctx context.Context, in *pyembed.Interpreter, x PairedExperiment) (*result.Paired, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &result.Paired{Header: result.Started(result.PairedSchema, x.Name, x.ModelName), Settle: Settle}
	for _, a := range x.Arms {
		spec := x.Spec
		spec.Engine = a.Engine
		r.Arms = append(r.Arms, result.Offline{
			Header:       result.Started(result.Schema, a.Name, x.ModelName),
			AA:           a.AA,
			Spec:         spec,
			RolloutMode:  string(cmp.Or(spec.Rollout.Mode, workload.Sync)),
			EngineKwargs: engineKwargs(spec),
			Sampling:     spec.Rollout.Sampling(),
			Warnings:     []string{countersWarning},
		})
	}
	err := runPaired(ctx, in, r)
	if err == nil {
		err = context.Cause(ctx)
	}
	status := result.StatusOK
	if err != nil {
		status, r.Error = result.StatusFailed, err.Error()
	}
	r.Status = status
	for i := range r.Arms {
		a := &r.Arms[i]
		a.Status, a.Error = status, r.Error
		a.CloseRepetitions()
	}
	return r, err
}

func runPaired(ctx context.Context, in *pyembed.Interpreter, r *result.Paired) (err error) {
	ctx, finish := watchEngine(ctx)
	defer func() { err = finish(err) }()
	arms := r.Arms
	env, err := engine.Describe(ctx, in)
	if err != nil {
		return err
	}
	for i := range arms {
		arms[i].Environment = env
		if err := engine.Supports(env, arms[i].Spec.Engine.Quant); err != nil {
			return err
		}
	}
	if err := memoryFits(arms, env); err != nil {
		return err
	}
	spec := arms[0].Spec
	var prompts [][]int
	if spec.Rollout.Dataset != nil {
		if prompts, arms[0].Dataset, err = datasetPrompts(ctx, in, spec); err != nil {
			return err
		}
		for i := range arms {
			arms[i].Dataset = arms[0].Dataset
		}
	}

	engines := make([]*engine.Engine, len(arms))
	// Every engine loaded is shut down, whatever ends the experiment.
	defer func() {
		for i, eng := range engines {
			if eng != nil {
				err = errors.Join(err, closeEngine(ctx, eng, &arms[i]))
			}
		}
	}()
	var vocab workload.Vocabulary
	for i := range arms {
		eng, _, err := openWarm(ctx, in, &arms[i], true)
		if err != nil {
			return fmt.Errorf("%s: %w", arms[i].Label(), err)
		}
		engines[i] = eng
		v, err := eng.Vocabulary(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", arms[i].Label(), err)
		}
		if i == 0 {
			vocab = v
		} else if v.Size != vocab.Size {
			return fmt.Errorf("%s has a vocabulary of %d tokens and %s one of %d: the arms must share a tokenizer to run the same prompts",
				arms[i].Label(), v.Size, arms[0].Label(), vocab.Size)
		}
	}
	if prompts == nil {
		if prompts, err = spec.Rollout.Prompts(vocab.Size, vocab.Special); err != nil {
			return err
		}
	}

	rounds := max(spec.Rollout.Repeat, MinRounds)
	rule := stoppingRule(spec.Rollout)
	looks := 1
	if rule != nil {
		looks = rule.NumLooks()
	}
	began := time.Now()
	for round := range rounds {
		order := roundOrder(len(arms), round)
		labels := make([]string, len(order))
		for k, i := range order {
			labels[k] = arms[i].Label()
			progress.From(ctx).Phase(progress.Generate, pairedDetail(spec.Rollout, arms[i].Label(), round, rounds))
			if err := settle(ctx); err != nil {
				return err
			}
			start := time.Since(began).Seconds()
			if err := measuredPass(ctx, engines[i], prompts, &arms[i], result.Repetition{StartS: &start}, false); err != nil {
				return fmt.Errorf("%s, round %d: %w", arms[i].Label(), round+1, err)
			}
		}
		r.Order = append(r.Order, labels)
		r.Rounds = round + 1
		r.Compare(looks)
		if rule != nil {
			if st, done := rule.Check(round+1, r.WidestHalfWidth()); done {
				r.Stop = &st
				break
			}
		}
	}
	return nil
}

// The settle before each pass. vLLM's workers spin on their shared-memory
// queue (sched_yield) for a second after their last step, taking a core: on
// a host with few cores, the pass right after another engine's would lose
// it to that engine, and the order, not the configuration, would decide.
const (
	settleWindow = 200 * time.Millisecond
	// settleQuiet is the most processor time the engines may use over a
	// window to be called idle: 20% of one core.
	settleQuiet = settleWindow / 5
	settleLimit = 3 * time.Second
)

// Settle says, for the result, what runs before each pass.
const Settle = "before each pass, waited until this process's engine processes used under 20% of a core over 200 ms (at most 3 s): vLLM's workers spin for 1 s after their last step"

// settle waits until this process's engines are idle, or settleLimit.
func settle(ctx context.Context) error {
	deadline := time.Now().Add(settleLimit)
	last := sys.TreeCPU(os.Getpid())
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(settleWindow):
		}
		now := sys.TreeCPU(os.Getpid())
		if now-last < settleQuiet {
			return nil
		}
		last = now
	}
	return nil
}

// pairedDetail says which arm's pass of which round a generate phase is.
func pairedDetail(ro workload.Rollout, label string, round, rounds int) string {
	of := fmt.Sprintf("of %d", rounds)
	if ro.TargetCI > 0 {
		of = fmt.Sprintf("of at most %d", rounds)
	}
	return fmt.Sprintf("%s, %d prompts x n=%d, round %d %s", label, ro.NumPrompts, ro.N, round+1, of)
}

// memoryFits refuses, before anything loads, arms whose KV caches the host
// cannot hold at once on a CPU, where every engine takes its cache from
// host memory (shares of device memory were checked with the options).
func memoryFits(arms []result.Offline, env sys.Environment) error {
	if env.Platform != "cpu" {
		return nil
	}
	var need int64
	for _, a := range arms {
		need += a.Spec.Engine.KVCacheMemoryBytes
	}
	avail, ok := sys.AvailableMemory()
	if !ok || need <= avail {
		return nil
	}
	return fmt.Errorf("--paired loads %d engines with %s of KV cache in all, but the host has %s available: give a smaller --kv-cache-memory, or --aa=false",
		len(arms), sys.Bytes(need), sys.Bytes(avail))
}
