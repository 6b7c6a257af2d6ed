// Package engine drives a vLLM engine in the embedded interpreter: it builds
// LLM(...) from Go values, submits token-id prompts with SamplingParams, times
// LLM.generate from Go, and reads back what the engine returned.
package engine

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload"
)

// Engine is one vllm.LLM.
type Engine struct {
	in  *pyembed.Interpreter
	llm *pyembed.Handle
}

// Open imports vllm and constructs LLM(**kwargs). kwargs are vLLM's own
// engine argument names.
func Open(ctx context.Context, in *pyembed.Interpreter, kwargs map[string]any) (*Engine, error) {
	e := &Engine{in: in}
	err := in.Do(ctx, func(s *pyembed.Scope) error {
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

// Sampling is the SamplingParams every sequence of a batch shares, under
// vLLM's own argument names.
type Sampling struct {
	N           int     `json:"n"`
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	IgnoreEOS   bool    `json:"ignore_eos"`
	MaxTokens   int     `json:"max_tokens"`
}

func (sp Sampling) kwargs() pyembed.Kwargs {
	return pyembed.Kwargs{
		"n":           sp.N,
		"temperature": sp.Temperature,
		"top_p":       sp.TopP,
		"ignore_eos":  sp.IgnoreEOS,
		"max_tokens":  sp.MaxTokens,
	}
}

// Generation is what one LLM.generate call did.
type Generation struct {
	// Build is the time taken to turn the Go prompts and sampling settings
	// into vLLM's request objects, outside Elapsed.
	Build time.Duration
	// Elapsed is LLM.generate alone, on Go's monotonic clock.
	Elapsed  time.Duration
	Requests []Request
}

// Request is one prompt's outcome.
type Request struct {
	PromptTokens int
	Completions  []Completion
}

// Completion is one sample.
type Completion struct {
	OutputTokens int
	FinishReason string
}

// Generate submits every prompt with sp in a single LLM.generate call, as
// the trainer's rollout does, and waits for the last sample.
func (e *Engine) Generate(ctx context.Context, prompts [][]int, sp Sampling) (*Generation, error) {
	g := &Generation{}
	err := e.in.Do(ctx, func(s *pyembed.Scope) error {
		buildStart := time.Now()
		vllm, err := s.Import("vllm")
		if err != nil {
			return err
		}
		params, err := vllm.CallMethod("SamplingParams", nil, sp.kwargs())
		if err != nil {
			return fmt.Errorf("build SamplingParams: %w", err)
		}
		tokensPrompt, err := vllm.Attr("TokensPrompt")
		if err != nil {
			return err
		}
		requests := make([]any, len(prompts))
		for i, p := range prompts {
			if requests[i], err = tokensPrompt.Call(nil, pyembed.Kwargs{"prompt_token_ids": p}); err != nil {
				return fmt.Errorf("build prompt %d: %w", i, err)
			}
		}
		batch, err := s.Value(requests)
		if err != nil {
			return err
		}
		generate, err := s.Object(e.llm).Attr("generate")
		if err != nil {
			return err
		}
		args := []any{batch, params}
		kwargs := pyembed.Kwargs{"use_tqdm": false}
		g.Build = time.Since(buildStart)

		start := time.Now()
		outputs, err := generate.Call(args, kwargs)
		g.Elapsed = time.Since(start)
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		g.Requests, err = readOutputs(outputs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// readOutputs reads the list[RequestOutput] that generate returns.
func readOutputs(outputs pyembed.Object) ([]Request, error) {
	n, err := outputs.Len()
	if err != nil {
		return nil, err
	}
	reqs := make([]Request, n)
	for i := range n {
		ro, err := outputs.Index(i)
		if err != nil {
			return nil, err
		}
		if reqs[i], err = readRequest(ro); err != nil {
			return nil, fmt.Errorf("request output %d: %w", i, err)
		}
	}
	return reqs, nil
}

func readRequest(ro pyembed.Object) (Request, error) {
	var r Request
	prompt, err := ro.Attr("prompt_token_ids")
	if err != nil {
		return r, err
	}
	if r.PromptTokens, err = prompt.Len(); err != nil {
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
	r.Completions = make([]Completion, n)
	for j := range n {
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

// Kwargs maps an engine configuration to LLM(...)'s argument names. Every
// argument rollbench depends on is passed, not left to vLLM's defaults,
// which change between versions; e.Args come last and win.
func Kwargs(e workload.Engine) map[string]any {
	kw := map[string]any{
		"model":                  e.Model,
		"tensor_parallel_size":   e.TensorParallelSize,
		"dtype":                  e.Dtype,
		"gpu_memory_utilization": e.GPUMemoryUtilization,
		"max_num_seqs":           e.MaxNumSeqs,
		"max_model_len":          e.MaxModelLen,
		"enforce_eager":          e.EnforceEager,
		"seed":                   e.Seed,
	}
	if e.KVCacheMemoryBytes > 0 {
		kw["kv_cache_memory_bytes"] = e.KVCacheMemoryBytes
	}
	maps.Copy(kw, e.Args)
	return kw
}
