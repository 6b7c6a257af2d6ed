//go:build !nopython

// The data-parallel step: the rollout's engines as Ray actors, the step
// handed out between them the way verl does, timed from Go until the last
// sample is back from any replica.

package run

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/internal/supervise"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload"
)

// replicaCPUs is each replica's CPU request, verl's for a rollout worker
// with nothing colocated (RayResourcePool's max_colocate_count bundles
// hold one CPU per colocated worker).
const replicaCPUs = 1

// replicaEnv is what a replica's process needs from rollbench's
// environment when Ray, not rollbench, starts it: the engine settings of
// this host and rollbench's marker, so that a replica outlives no
// rollbench that started it.
func replicaEnv() map[string]string {
	env := map[string]string{}
	for _, k := range []string{supervise.Env, "OMP_NUM_THREADS", "VLLM_CPU_OMP_THREADS_BIND", "VLLM_CPU_KVCACHE_SPACE",
		"TORCHDYNAMO_DISABLE", "VLLM_NO_USAGE_STATS", "HF_HUB_OFFLINE", "VLLM_ENABLE_V1_MULTIPROCESSING"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	return env
}

// replicaKwargs are the engine arguments every replica loads: verl's
// server runs its engine with the multiprocessing executor inside the
// actor.
func replicaKwargs(kw map[string]any) map[string]any {
	out := maps.Clone(kw)
	out["distributed_executor_backend"] = "mp"
	return out
}

func runReplicas(ctx context.Context, in *pyembed.Interpreter, r *result.Offline, prompts [][]int) (err error) {
	spec := r.Spec
	p, tp := spec.Replicas, spec.Engine.TensorParallelSize
	rec := &result.Replicas{DataParallelSize: p.DataParallelSize, TensorParallelSize: tp, Dispatch: string(p.Dispatch)}
	r.Replicas = rec
	progress.From(ctx).Phase(progress.Load, fmt.Sprintf("%s, %s, on %d replicas", spec.Engine.Model, spec.Engine.Quant, p.DataParallelSize))
	start := time.Now()
	cl, err := engine.Connect(ctx, in, engine.ClusterConfig{Address: p.RayAddress, Devices: p.DataParallelSize * tp,
		Platform: r.Environment.Platform, Env: replicaEnv()})
	rec.Cluster = cl
	if err != nil {
		return errors.Join(err, engine.Disconnect(context.WithoutCancel(ctx), in))
	}
	reps, placement, err := engine.StartReplicas(ctx, in, cl, p.DataParallelSize, tp, r.Environment.Platform, r.EngineKwargs, replicaCPUs)
	rec.Placement = placement
	r.Timings.Load = time.Since(start).Seconds()
	if err != nil {
		return errors.Join(fmt.Errorf("load model %s: %w", spec.Engine.Model, err), engine.Disconnect(context.WithoutCancel(ctx), in))
	}
	defer func() {
		progress.From(ctx).Phase(progress.Teardown, "")
		start := time.Now()
		err = errors.Join(err, shutDownWithin(ctx, reps, replicaTeardownLimit))
		r.Timings.Teardown = time.Since(start).Seconds()
	}()

	ro := spec.Rollout
	if ro.WarmupPrompts > 0 || prompts == nil {
		vocab, err := reps.Vocabulary(ctx)
		if err != nil {
			return err
		}
		if prompts == nil {
			if prompts, err = ro.Prompts(vocab.Size, vocab.Special); err != nil {
				return err
			}
		}
		if ro.WarmupPrompts > 0 {
			if err := warmReplicas(ctx, reps, ro, vocab, p.DataParallelSize, r); err != nil {
				return err
			}
		}
	}
	repeat := max(ro.Repeat, 1)
	rule := stoppingRule(ro)
	for i := range repeat {
		progress.From(ctx).Phase(progress.Generate, generateDetail(ro, i, repeat)+fmt.Sprintf(" on %d replicas", p.DataParallelSize))
		s, spread, err := replicatedStep(ctx, reps, spec, prompts)
		if err != nil {
			if repeat > 1 {
				err = fmt.Errorf("repetition %d of %d: %w", i+1, repeat, err)
			}
			return err
		}
		if len(r.Repetitions) == 0 {
			rec.Spread = &spread.Spread
			rec.HandoutS, rec.CallOverheadS = spread.HandoutS, metrics.Summarize(spread.CallOverheadS, metrics.Sample)
		}
		imbalance := spread.Imbalance
		recordPass(s, r, result.Repetition{Imbalance: &imbalance}, false)
		if rule != nil {
			if st, done := rule.Check(i+1, r.OutputEstimate(rule.Alpha()).HalfWidth()); done {
				r.Stop = &st
				break
			}
		}
	}
	r.CloseRepetitions()
	return nil
}

// warmReplicas runs the untimed warm-up on every replica at once: the
// warm-up prompts on each.
func warmReplicas(ctx context.Context, reps *engine.Replicas, ro workload.Rollout, vocab workload.Vocabulary, dp int, r *result.Offline) error {
	warm, err := ro.WarmupPromptSet(vocab.Size, vocab.Special)
	if err != nil {
		return err
	}
	progress.From(ctx).Phase(progress.Warmup, "")
	var prompts [][]int
	var params []workload.Sampling
	var assign []int
	for rank := range dp {
		for _, w := range warm {
			prompts, params, assign = append(prompts, w), append(params, ro.Sampling()), append(assign, rank)
		}
	}
	start := time.Now()
	if _, err := reps.Step(ctx, prompts, params, assign); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	r.Timings.Warmup = time.Since(start).Seconds()
	return nil
}

// replicaSpread is a step's spread with what Ray added to it.
type replicaSpread struct {
	metrics.Spread
	HandoutS      float64
	CallOverheadS []float64
}

// replicatedStep runs one measured step over the replicas. Split hands
// each replica its chunk of prompts, n samples to a request as the legacy
// rollout's generate does (every sample its own request when samples have
// lengths of their own); least-requests makes every sample a request.
func replicatedStep(ctx context.Context, reps *engine.Replicas, spec workload.Spec, prompts [][]int) (*step, *replicaSpread, error) {
	ro, disp := spec.Rollout, spec.Replicas.Dispatch
	base := ro.Sampling()
	p := &pass{asked: ro.SampleLengths()}
	if ro.VerlMaxTokens {
		for i := range p.asked {
			p.asked[i] = min(p.asked[i], workload.VerlMaxTokens(len(prompts[i/ro.N]), ro.InputLen, ro.OutputLen, spec.Engine.MaxModelLen))
		}
	}
	rank := workload.Chunks(ro.NumPrompts, spec.Replicas.DataParallelSize)
	var each [][]int
	var params []workload.Sampling
	var assign []int
	if disp == workload.Split && ro.Lengths == nil {
		p.perPrompt = true
		base.MaxTokens = p.asked[0]
		for i, pr := range prompts {
			each, params, assign = append(each, pr), append(params, base), append(assign, rank[i])
		}
	} else {
		for i, n := range p.asked {
			sp := base
			sp.N, sp.MaxTokens = 1, n
			each, params, assign = append(each, prompts[i/ro.N]), append(params, sp), append(assign, rank[i/ro.N])
		}
	}
	if disp == workload.LeastRequests {
		assign = nil
	}
	st, err := reps.Step(ctx, each, params, assign)
	if err != nil {
		return nil, nil, err
	}
	var replicaOf []int
	for i, req := range st.Requests {
		for range req.Completions {
			replicaOf = append(replicaOf, st.Replica[i])
		}
	}
	p.gen = st.Generation
	s, samples, err := p.step(spec, prompts, base)
	if err != nil {
		return nil, nil, err
	}
	spread, err := metrics.NewSpread(samples, replicaOf, spec.Replicas.DataParallelSize, st.Elapsed.Seconds())
	if err != nil {
		return nil, nil, err
	}
	return s, &replicaSpread{Spread: spread, HandoutS: st.HandoutS, CallOverheadS: st.CallOverheadS}, nil
}
