//go:build !nopython

package run

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload"
)

// engineKwargs adds to the engine's arguments what the rollout needs unless
// the model's config sets it: stats logging, which per-request timings and
// get_metrics need; prefix caching in async mode, where a prompt's n
// requests share it as in verl; and the preset's arguments.
func engineKwargs(spec workload.Spec) map[string]any {
	kw := engine.Kwargs(spec.Engine)
	defaults := map[string]any{"disable_log_stats": false}
	if spec.Rollout.Mode == workload.Async {
		defaults["enable_prefix_caching"] = true
	}
	if p, err := workload.LookupPreset(spec.Rollout.Preset); err == nil {
		maps.Copy(defaults, p.EngineArgs)
	}
	for k, v := range defaults {
		if _, set := spec.Engine.Args[k]; !set {
			kw[k] = v
		}
	}
	return kw
}

// gaugeEvery is the least interval between the gauge reads of an async
// pass; their cost spaces them further (see engine.Stream).
const gaugeEvery = 100 * time.Millisecond

// pass is one measured rollout step.
type pass struct {
	gen *engine.Generation
	// gauges are nil when the step ran as one LLM.generate.
	gauges *metrics.EngineGauges
	// asked is every sample's max_tokens, in sample order.
	asked []int
	// perPrompt is true when each request carried a prompt's n samples.
	perPrompt bool
}

// measureOffline runs the step in the rollout's mode. Sync with one length for all
// samples is the legacy LLM.generate with n per prompt. Per-sample lengths
// need a max_tokens per sample, which one request with n > 1 cannot carry,
// so sync then submits every sample as its own request (n 1) in one
// LLM.generate; async always does, through the engine's step loop.
func measureOffline(ctx context.Context, eng *engine.Engine, r workload.Rollout, maxModelLen int, prompts [][]int, base workload.Sampling) (*pass, error) {
	p := &pass{asked: r.SampleLengths()}
	if r.VerlMaxTokens {
		for i := range p.asked {
			p.asked[i] = min(p.asked[i], workload.VerlMaxTokens(len(prompts[i/r.N]), r.InputLen, r.OutputLen, maxModelLen))
		}
	}
	if r.Mode != workload.Async && r.Lengths == nil {
		p.perPrompt = true
		base.MaxTokens = p.asked[0]
		gen, err := eng.Generate(ctx, prompts, base)
		p.gen = gen
		return p, err
	}
	each := make([][]int, len(p.asked))
	params := make([]workload.Sampling, len(p.asked))
	for i, n := range p.asked {
		each[i] = prompts[i/r.N]
		params[i] = base
		params[i].N, params[i].MaxTokens = 1, n
	}
	if r.Mode == workload.Async {
		gen, gauges, err := eng.Stream(ctx, each, params, gaugeEvery)
		p.gen, p.gauges = gen, &gauges
		return p, err
	}
	gen, err := eng.GenerateEach(ctx, each, params)
	p.gen = gen
	return p, err
}

// Finish-time sources, as the result states them.
const (
	perSampleTimes = "engine, per sample: RequestOutput.metrics.last_token_ts (the engine core's time.monotonic() after the step that produced the sample's last token) minus time.monotonic() just before submission; precise to one engine step"
	perPromptTimes = "engine, per prompt: with n > 1 in one request vLLM reports the timings of the prompt's last sample only, and every sample of the prompt is given them; exact when a prompt's samples finish in the same step (ignore_eos, one length), an upper bound otherwise"
)

// samples lists the pass's samples in submission order, cutting outputs to
// the response length under verl's rule, and checks each against what was
// asked. It fails when the engine reported no timings.
func (p *pass) samples(r workload.Rollout) ([]metrics.FinishSample, []string, error) {
	var out []metrics.FinishSample
	var warns []string
	short := 0
	for _, req := range p.gen.Requests {
		for j := range req.Completions {
			c := &req.Completions[j]
			if !c.Timed {
				return nil, nil, fmt.Errorf("the engine reported no per-request timings (is disable_log_stats set in the engine arguments?)")
			}
			if r.VerlMaxTokens {
				c.OutputTokens = min(c.OutputTokens, r.OutputLen)
			}
			i := len(out)
			if i < len(p.asked) && !r.EOS && c.OutputTokens != p.asked[i] {
				short++
			}
			out = append(out, metrics.FinishSample{FirstTokenS: c.FirstTokenS, FinishS: c.FinishS, OutputTokens: c.OutputTokens,
				FinishReason: c.FinishReason, Preemptions: c.Preemptions})
		}
	}
	if short > 0 {
		warns = append(warns, fmt.Sprintf("%d of %d samples did not generate the length they were given, with ignore_eos", short, len(out)))
	}
	return out, warns, nil
}

func (p *pass) timesSource() string {
	if p.perPrompt && len(p.gen.Requests) > 0 && len(p.gen.Requests[0].Completions) > 1 {
		return perPromptTimes
	}
	return perSampleTimes
}

// byPrompt regroups per-sample requests (n each, in prompt order) into one
// request per prompt, so that counts and rates mean the same in every mode:
// a prompt and its tokens count once, however many requests carried it.
func byPrompt(reqs []metrics.Request, n int) []metrics.Request {
	var out []metrics.Request
	for i, r := range reqs {
		if i%n == 0 {
			out = append(out, metrics.Request{PromptTokens: r.PromptTokens})
		}
		last := &out[len(out)-1]
		last.Completions = append(last.Completions, r.Completions...)
	}
	return out
}

// step is what one measured pass produced.
type step struct {
	gen      *engine.Generation
	tokens   metrics.Tokens
	warnings []string
	timeline metrics.Timeline
	counters metrics.EngineCounters
	// perSample is true when every sample was its own request (n 1).
	perSample bool
}

// measureStep runs one measured pass and reads what it produced: counts,
// warnings, the timeline and the engine's counters around it.
func measureStep(ctx context.Context, eng *engine.Engine, spec workload.Spec, prompts [][]int, sampling workload.Sampling, counters bool) (*step, error) {
	var before, after map[string]float64
	var err error
	if counters {
		if before, err = eng.Metrics(ctx); err != nil {
			return nil, err
		}
	}
	p, err := measureOffline(ctx, eng, spec.Rollout, spec.Engine.MaxModelLen, prompts, sampling)
	if err != nil {
		return nil, err
	}
	if counters {
		if after, err = eng.Metrics(ctx); err != nil {
			return nil, err
		}
	}
	s, _, err := p.step(spec, prompts, sampling)
	if err != nil {
		return nil, err
	}
	s.counters = metrics.NewEngineCounters(before, after, p.gauges)
	return s, nil
}

// step reads what a pass produced: counts, warnings and the timeline. It
// returns the samples too, in submission order.
func (p *pass) step(spec workload.Spec, prompts [][]int, sampling workload.Sampling) (*step, []metrics.FinishSample, error) {
	s := &step{gen: p.gen, perSample: !p.perPrompt}
	samples, warns, err := p.samples(spec.Rollout)
	if err != nil {
		return nil, nil, err
	}
	if s.perSample {
		s.gen.Requests = byPrompt(s.gen.Requests, spec.Rollout.N)
	}
	s.tokens = metrics.Count(s.gen.Requests)
	want := metrics.Expected{
		Prompts:     spec.Rollout.NumPrompts,
		N:           spec.Rollout.N,
		InputLen:    spec.Rollout.InputLen,
		OutputLen:   spec.Rollout.OutputLen,
		ExactOutput: sampling.IgnoreEOS && spec.Rollout.Lengths == nil,
	}
	if spec.Rollout.Dataset != nil {
		want.PromptTokens = totalLen(prompts)
	}
	s.warnings = append(warns, s.tokens.Check(want)...)
	if s.timeline, err = metrics.NewTimeline(samples, s.gen.Elapsed.Seconds(), p.timesSource()); err != nil {
		return nil, nil, err
	}
	return s, samples, nil
}
