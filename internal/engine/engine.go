//go:build !nopython

package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload"
)

// Engine is one vllm.LLM.
type Engine struct {
	in  *pyembed.Interpreter
	llm *pyembed.Handle
}

// Open imports vllm and constructs LLM(**kwargs). kwargs are vLLM's own
// engine argument names. First rollbench.fastexit spares this interpreter
// and the processes the engine spawns the walk of their whole heap at
// exit: about 2 s apiece, the engine's two of them in Close.
func Open(ctx context.Context, in *pyembed.Interpreter, kwargs map[string]any) (*Engine, error) {
	e := &Engine{in: in}
	err := in.Do(ctx, func(s *pyembed.Scope) error {
		fastexit, err := s.Import("rollbench.fastexit")
		if err != nil {
			return err
		}
		if _, err := fastexit.CallMethod("install", nil, nil); err != nil {
			return fmt.Errorf("rollbench.fastexit.install: %w", err)
		}
		vllm, err := s.Import("vllm")
		if err != nil {
			return err
		}
		llm, err := vllm.CallMethod("LLM", nil, kwargs)
		if err != nil {
			return fmt.Errorf("create vllm.LLM: %w", err)
		}
		e.llm = llm.Keep()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Vocabulary asks the engine's tokenizer.
func (e *Engine) Vocabulary(ctx context.Context) (workload.Vocabulary, error) {
	var v workload.Vocabulary
	err := e.in.Do(ctx, func(s *pyembed.Scope) error {
		tok, err := s.Object(e.llm).CallMethod("get_tokenizer", nil, nil)
		if err != nil {
			return err
		}
		if v.Size, err = tok.Len(); err != nil {
			return fmt.Errorf("tokenizer size: %w", err)
		}
		ids, err := tok.Attr("all_special_ids")
		if err != nil {
			return err
		}
		v.Special, err = ids.Ints()
		return err
	})
	if err != nil {
		return workload.Vocabulary{}, fmt.Errorf("read vocabulary: %w", err)
	}
	return v, nil
}

// samplingKwargs are sp under SamplingParams' argument names.
func samplingKwargs(sp workload.Sampling) pyembed.Kwargs {
	kw := pyembed.Kwargs{
		"n":           sp.N,
		"temperature": sp.Temperature,
		"top_p":       sp.TopP,
		"ignore_eos":  sp.IgnoreEOS,
		"max_tokens":  sp.MaxTokens,
	}
	if sp.Logprobs {
		kw["logprobs"] = 0
	}
	return kw
}

// Generation is what one LLM.generate call, or one Stream, did.
type Generation struct {
	// Build is the time taken to turn the Go prompts and sampling settings
	// into vLLM's request objects, outside Elapsed.
	Build time.Duration
	// Elapsed is LLM.generate alone, on Go's monotonic clock.
	Elapsed  time.Duration
	Requests []metrics.Request
	// SampleHook is true when LLM.generate reported its finished samples
	// to the progress display (use_tqdm, see sampleHook); false, it was
	// called with use_tqdm=False.
	SampleHook bool
	// Sampled is every completion's tokens and log-probs, in request
	// order, when the sampling params asked for log-probs.
	Sampled []Sampled
}

// Sampled is one completion of a scored generate.
type Sampled struct {
	// Request is the request's index in the call, Completion the
	// completion's among the request's n.
	Request, Completion int
	ResponseIDs         []int
	// Logprobs are the engine's log-prob of each response token.
	Logprobs     []float64
	FinishReason string
}

// Generate submits every prompt with sp in a single LLM.generate call, as
// the trainer's rollout does, and waits for the last sample.
func (e *Engine) Generate(ctx context.Context, prompts [][]int, sp workload.Sampling) (*Generation, error) {
	return e.generate(ctx, prompts, []workload.Sampling{sp})
}

// GenerateEach is Generate with a SamplingParams of its own for every
// prompt (n is each one's), still in a single LLM.generate call.
func (e *Engine) GenerateEach(ctx context.Context, prompts [][]int, params []workload.Sampling) (*Generation, error) {
	if len(prompts) != len(params) {
		return nil, fmt.Errorf("generate: %d prompts but %d sampling params", len(prompts), len(params))
	}
	return e.generate(ctx, prompts, params)
}

func (e *Engine) generate(ctx context.Context, prompts [][]int, params []workload.Sampling) (*Generation, error) {
	g := &Generation{}
	err := e.in.Do(ctx, func(s *pyembed.Scope) error {
		buildStart := time.Now()
		batch, err := e.buildRequests(s, prompts, params, false)
		if err != nil {
			return err
		}
		promptList, err := s.Value(batch.prompts)
		if err != nil {
			return err
		}
		var paramArg any = batch.params[0]
		if len(params) > 1 {
			paramArg = batch.params
		}
		generate, err := s.Object(e.llm).Attr("generate")
		if err != nil {
			return err
		}
		clock, err := monotonic(s)
		if err != nil {
			return err
		}
		args := []any{promptList, paramArg}
		kwargs := pyembed.Kwargs{"use_tqdm": false}
		// Only a terminal shows the count: elsewhere the call is exactly
		// the one without it.
		if show := progress.From(ctx); show.Live() {
			hook, err := startSampleHook(s, show, samples(prompts, params))
			if err != nil {
				return err
			}
			defer hook.stop()
			kwargs["use_tqdm"], g.SampleHook = hook.counter, true
		}
		g.Build = time.Since(buildStart)

		t0, err := callFloat(clock)
		if err != nil {
			return err
		}
		start := time.Now()
		outputs, err := generate.Call(args, kwargs)
		g.Elapsed = time.Since(start)
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		if g.Requests, err = readOutputs(outputs, t0); err != nil || !params[0].Logprobs {
			return err
		}
		g.Sampled, err = readSampled(s, outputs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// requests are vLLM's objects for a batch: a TokensPrompt per prompt and a
// SamplingParams per prompt, or a single shared one.
type requests struct {
	prompts []any
	params  []any
}

// buildRequests makes the batch's vLLM objects; equal Sampling values share
// one SamplingParams. finalOnly asks the engine for a request's output only
// once it is finished, which LLM.generate sets by itself.
func (e *Engine) buildRequests(s *pyembed.Scope, prompts [][]int, params []workload.Sampling, finalOnly bool) (requests, error) {
	var r requests
	vllm, err := s.Import("vllm")
	if err != nil {
		return r, err
	}
	var kind any
	if finalOnly {
		sp, err := s.Import("vllm.sampling_params")
		if err != nil {
			return r, err
		}
		kinds, err := sp.Attr("RequestOutputKind")
		if err != nil {
			return r, err
		}
		if kind, err = kinds.Attr("FINAL_ONLY"); err != nil {
			return r, err
		}
	}
	built := map[workload.Sampling]pyembed.Object{}
	for i, sp := range params {
		obj, ok := built[sp]
		if !ok {
			kw := samplingKwargs(sp)
			if kind != nil {
				kw["output_kind"] = kind
			}
			if obj, err = vllm.CallMethod("SamplingParams", nil, kw); err != nil {
				return r, fmt.Errorf("build SamplingParams %d: %w", i, err)
			}
			built[sp] = obj
		}
		r.params = append(r.params, obj)
	}
	tokensPrompt, err := vllm.Attr("TokensPrompt")
	if err != nil {
		return r, err
	}
	r.prompts = make([]any, len(prompts))
	for i, p := range prompts {
		if r.prompts[i], err = tokensPrompt.Call(nil, pyembed.Kwargs{"prompt_token_ids": p}); err != nil {
			return r, fmt.Errorf("build prompt %d: %w", i, err)
		}
	}
	return r, nil
}

// readOutputs reads the list[RequestOutput] that generate returns; t0 is
// time.monotonic() when the call began.
func readOutputs(outputs pyembed.Object, t0 float64) ([]metrics.Request, error) {
	n, err := outputs.Len()
	if err != nil {
		return nil, err
	}
	reqs := make([]metrics.Request, n)
	for i := range n {
		ro, err := outputs.Index(i)
		if err != nil {
			return nil, err
		}
		if reqs[i], err = readRequest(ro, t0); err != nil {
			return nil, fmt.Errorf("request output %d: %w", i, err)
		}
	}
	return reqs, nil
}

// readSampled reads the tokens and log-probs of every completion, each
// log-prob the way verl's rollout reads it (rollbench.rollout_logprobs).
func readSampled(s *pyembed.Scope, outputs pyembed.Object) ([]Sampled, error) {
	m, err := s.Import("rollbench.rollout_logprobs")
	if err != nil {
		return nil, err
	}
	n, err := outputs.Len()
	if err != nil {
		return nil, err
	}
	var out []Sampled
	for i := range n {
		ro, err := outputs.Index(i)
		if err != nil {
			return nil, err
		}
		completions, err := ro.Attr("outputs")
		if err != nil {
			return nil, err
		}
		k, err := completions.Len()
		if err != nil {
			return nil, err
		}
		for j := range k {
			c, err := completions.Index(j)
			if err != nil {
				return nil, err
			}
			sm := Sampled{Request: i, Completion: j}
			if err := readCompletion(m, c, &sm); err != nil {
				return nil, fmt.Errorf("request output %d completion %d: %w", i, j, err)
			}
			out = append(out, sm)
		}
	}
	return out, nil
}

func readCompletion(m, c pyembed.Object, sm *Sampled) error {
	ids, err := c.Attr("token_ids")
	if err != nil {
		return err
	}
	if sm.ResponseIDs, err = ids.Ints(); err != nil {
		return err
	}
	lps, err := m.CallMethod("sampled_logprobs", []any{c}, nil)
	if err != nil {
		return err
	}
	if sm.Logprobs, err = lps.Floats(); err != nil {
		return err
	}
	reason, err := c.Attr("finish_reason")
	if err != nil || reason.IsNone() {
		return err
	}
	sm.FinishReason, err = reason.Str()
	return err
}

func readRequest(ro pyembed.Object, t0 float64) (metrics.Request, error) {
	var r metrics.Request
	prompt, err := ro.Attr("prompt_token_ids")
	if err != nil {
		return r, err
	}
	if r.PromptTokens, err = prompt.Len(); err != nil {
		return r, err
	}
	timing, err := readTiming(ro, t0)
	if err != nil {
		return r, err
	}
	completions, err := ro.Attr("outputs")
	if err != nil {
		return r, err
	}
	n, err := completions.Len()
	if err != nil {
		return r, err
	}
	r.Completions = make([]metrics.Completion, n)
	for j := range n {
		r.Completions[j] = timing
		c, err := completions.Index(j)
		if err != nil {
			return r, err
		}
		ids, err := c.Attr("token_ids")
		if err != nil {
			return r, err
		}
		if r.Completions[j].OutputTokens, err = ids.Len(); err != nil {
			return r, err
		}
		reason, err := c.Attr("finish_reason")
		if err != nil {
			return r, err
		}
		if !reason.IsNone() {
			if r.Completions[j].FinishReason, err = reason.Str(); err != nil {
				return r, err
			}
		}
	}
	return r, nil
}

// readTiming reads RequestOutput.metrics, vLLM v1's RequestStateStats, which
// is None unless the engine logs stats.
func readTiming(ro pyembed.Object, t0 float64) (metrics.Completion, error) {
	var c metrics.Completion
	if !ro.HasAttr("metrics") {
		return c, nil
	}
	stats, err := ro.Attr("metrics")
	if err != nil || stats.IsNone() || !stats.HasAttr("last_token_ts") {
		return c, err
	}
	for _, f := range []struct {
		name string
		dst  *float64
	}{{"first_token_ts", &c.FirstTokenS}, {"last_token_ts", &c.FinishS}} {
		v, err := stats.Attr(f.name)
		if err != nil {
			return c, err
		}
		ts, err := v.Float()
		if err != nil {
			return c, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.dst = ts - t0
	}
	if stats.HasAttr("num_preemptions") {
		v, err := stats.Attr("num_preemptions")
		if err != nil {
			return c, err
		}
		p, err := v.Int()
		if err != nil {
			return c, fmt.Errorf("num_preemptions: %w", err)
		}
		c.Preemptions = int(p)
	}
	c.Timed = true
	return c, nil
}

// Close shuts the engine down, stopping its engine-core process so that its
// device memory is returned before the process exits.
func (e *Engine) Close(ctx context.Context) error {
	if e.llm == nil {
		return nil
	}
	err := e.in.Do(ctx, func(s *pyembed.Scope) error {
		core, err := s.Object(e.llm).Attr("llm_engine")
		if err != nil {
			return err
		}
		if core, err = core.Attr("engine_core"); err != nil {
			return err
		}
		_, err = core.CallMethod("shutdown", nil, nil)
		return err
	})
	e.llm.Release()
	e.llm = nil
	if err != nil {
		return fmt.Errorf("shut down engine: %w", err)
	}
	return nil
}
