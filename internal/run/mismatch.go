//go:build !nopython

package run

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload"
)

// rolloutLogprobs says which log-probs the scored pass reads, and why they
// are the ones verl's rollout reads although the engine keeps vLLM's
// default logprobs_mode: the measured passes must run the engine exactly
// as they do without --mismatch, and processed_logprobs costs every step a
// log-softmax over the vocabulary (vllm/v1/sample/ops/topk_topp_sampler.py,
// forward_cpu and forward_native), asked for or not.
const rolloutLogprobs = "SamplingParams(logprobs=0): the sampled token's log-prob, read as verl's rollout reads it " +
	"(outputs[0].logprobs[i][token_ids[i]].logprob), with the engine at vLLM's default logprobs_mode raw_logprobs. " +
	"verl sets processed_logprobs (after temperature, top-k and top-p); at rollbench's temperature 1, top_p 1, no top-k " +
	"and no penalties both are the float32 log-softmax of the same logits (vllm/v1/sample/sampler.py)"

// scoredPass runs the pass that asks for log-probs, on the measured
// pass's prompts and request shape, and writes its samples file. It
// returns them for the reference, with the file's header.
func scoredPass(ctx context.Context, in *pyembed.Interpreter, eng *engine.Engine, r *result.Offline, prompts [][]int, sc *Scoring) (*scoredSamples, error) {
	spec := r.Spec
	m := r.Mismatch
	ro := spec.Rollout
	// One LLM.generate whatever the measured mode: the scored pass is not
	// measured, and the engine's step loop adds nothing to what it samples.
	ro.Mode = workload.Sync
	if sc.Prompts > 0 && sc.Prompts < len(prompts) {
		prompts, ro.NumPrompts = prompts[:sc.Prompts], sc.Prompts
	}
	m.Prompts = len(prompts)
	progress.From(ctx).Phase(progress.Scored, fmt.Sprintf("%d prompts x n=%d, logprobs=0", ro.NumPrompts, ro.N))
	warm := m.Sampling
	warm.N, warm.MaxTokens = 1, 2
	start := time.Now()
	if _, err := eng.Generate(ctx, prompts[:1], warm); err != nil {
		return nil, fmt.Errorf("scored pass warm-up: %w", err)
	}
	m.Timings.ScoredWarmup = time.Since(start).Seconds()
	start = time.Now()
	p, err := measureOffline(ctx, eng, ro, spec.Engine.MaxModelLen, prompts, m.Sampling)
	m.Timings.ScoredPass = time.Since(start).Seconds()
	if err != nil {
		return nil, fmt.Errorf("scored pass: %w", err)
	}
	if len(p.gen.Sampled) == 0 {
		return nil, errors.New("scored pass: the engine returned no samples")
	}
	samples := make([]result.Sample, len(p.gen.Sampled))
	for i, sm := range p.gen.Sampled {
		s := result.Sample{Prompt: sm.Request, Index: sm.Completion, ResponseIDs: sm.ResponseIDs, Logprobs: sm.Logprobs, FinishReason: sm.FinishReason}
		if !p.perPrompt {
			s.Prompt, s.Index = sm.Request/ro.N, sm.Request%ro.N
		}
		s.PromptIDs = prompts[s.Prompt]
		if ro.VerlMaxTokens && len(s.ResponseIDs) > ro.OutputLen {
			s.ResponseIDs, s.Logprobs = s.ResponseIDs[:ro.OutputLen], s.Logprobs[:ro.OutputLen]
		}
		samples[i] = s
	}
	sc2 := &scoredSamples{samples: samples}
	start = time.Now()
	sc2.header, err = writeSamples(ctx, in, eng, r, sc.SamplesPath, samples)
	m.Timings.WriteSamples = time.Since(start).Seconds()
	if err != nil {
		return nil, err
	}
	return sc2, nil
}

// scoredSamples are a scored pass's samples and their file's header.
type scoredSamples struct {
	header  result.SamplesHeader
	samples []result.Sample
}

func writeSamples(ctx context.Context, in *pyembed.Interpreter, eng *engine.Engine, r *result.Offline, path string, samples []result.Sample) (result.SamplesHeader, error) {
	h := result.SamplesHeader{
		Rollbench: r.Rollbench, Name: r.Name, ModelName: r.ModelName, ModelPath: r.Spec.Engine.Model,
		Quantization: r.Spec.Engine.Quant, EngineKwargs: r.EngineKwargs, Samples: len(samples),
	}
	vocab, err := eng.Vocabulary(ctx)
	if err != nil {
		return h, err
	}
	ck, err := engine.Identify(ctx, in, r.Spec.Engine.Model)
	if err != nil {
		return h, err
	}
	h.VocabSize, h.VocabHash, h.Shape = vocab.Size, ck.VocabHash, &ck.Shape
	if err := roundTrip(r.Mismatch.Sampling, &h.Sampling); err != nil {
		return h, err
	}
	w, err := result.CreateSamples(path, h)
	if err != nil {
		return h, err
	}
	for _, s := range samples {
		if err := w.Write(s); err != nil {
			return h, errors.Join(err, w.Close())
		}
	}
	if err := w.Close(); err != nil {
		return h, err
	}
	r.Mismatch.Samples = filepath.Base(path)
	return h, nil
}

func roundTrip(v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// newMismatch starts the record of a scored pass asked for by sc.
func newMismatch(sp workload.Sampling, sc *Scoring) *result.Mismatch {
	sp.Logprobs = true
	return &result.Mismatch{Sampling: sp, RolloutLogprobs: rolloutLogprobs, Reference: sc.Reference}
}

// hfNote and vllmNote say what each reference computes.
const (
	hfNote = "Hugging Face transformers forward in bfloat16 (torch.autocast) over prompt+response, left-padded prompts, " +
		"position ids cumsum(mask)-1, log-softmax in float32 of the response positions' logits, as verl's FSDP actor " +
		"computes old_log_probs (verl/workers/actor/dp_actor.py _forward_micro_batch); temperature 1, so no division"
	vllmNote = "a BF16 vLLM engine's prompt_logprobs=0 over prompt+response, max_tokens=1; vLLM's prompt_logprobs ignore " +
		"temperature, which rollbench keeps at 1, and skip the prefix cache, so every position is computed"
)

// Score scores samples, read from a samples file with header h or just
// sampled, with m.Reference, and fills m's figures. Scoring is refused
// for a reference of another model or vocabulary than h names.
func Score(ctx context.Context, in *pyembed.Interpreter, h result.SamplesHeader, samples []result.Sample, m *result.Mismatch, environment string) error {
	ref := &m.Reference
	ref.Device = cmp.Or(ref.Device, environment)
	ref.TokenBudget = cmp.Or(ref.TokenBudget, defaultTokenBudget)
	progress.From(ctx).Phase(progress.Reference, fmt.Sprintf("%s %s", ref.Kind, ref.Model))
	if err := sameModel(ctx, in, h, ref.Model); err != nil {
		return err
	}
	rs := make([]engine.Response, 0, len(samples))
	longest := 0
	for _, s := range samples {
		if len(s.ResponseIDs) == 0 {
			m.Skipped++
			continue
		}
		rs = append(rs, engine.Response{Prompt: s.PromptIDs, Response: s.ResponseIDs})
		longest = max(longest, len(s.PromptIDs)+len(s.ResponseIDs))
	}
	if len(rs) == 0 {
		return errors.New("every response is empty: no token to score")
	}
	var scores [][]float64
	var err error
	switch ref.Kind {
	case result.ReferenceHF:
		ref.Note = hfNote
		scores, err = scoreHF(ctx, in, m, rs, longest)
	case result.ReferenceVLLM:
		ref.Note = vllmNote
		scores, err = scoreVLLM(ctx, in, h, m, rs, longest)
	default:
		err = fmt.Errorf("unknown reference %q", ref.Kind)
	}
	if err != nil {
		return err
	}
	seqs := make([]metrics.ScoredSequence, 0, len(rs))
	i := 0
	for _, s := range samples {
		if len(s.ResponseIDs) == 0 {
			continue
		}
		seqs = append(seqs, metrics.ScoredSequence{RolloutLogProbs: s.Logprobs, ReferenceLogProbs: scores[i]})
		i++
	}
	mm, err := metrics.NewMismatch(seqs, metrics.DefaultISThreshold)
	if err != nil {
		return err
	}
	m.Metrics = &mm
	return nil
}

// defaultTokenBudget is rollbench.reference's DEFAULT_TOKEN_BUDGET.
const defaultTokenBudget = 8192

// checkReference refuses, before the rollout engine loads, a reference
// that is not model's: scoring would refuse it after the measured passes.
func checkReference(ctx context.Context, in *pyembed.Interpreter, model, reference string) error {
	ck, err := engine.Identify(ctx, in, model)
	if err != nil {
		return err
	}
	h := result.SamplesHeader{ModelPath: model, Shape: &ck.Shape, VocabHash: ck.VocabHash, VocabSize: ck.TokenizerSize}
	if err := sameModel(ctx, in, h, reference); err != nil {
		return fmt.Errorf("mismatch: %w", err)
	}
	return nil
}

// sameModel refuses a reference that is not the samples' model: another
// architecture or shape, or another vocabulary.
func sameModel(ctx context.Context, in *pyembed.Interpreter, h result.SamplesHeader, dir string) error {
	ck, err := engine.Identify(ctx, in, dir)
	if err != nil {
		return err
	}
	if h.Shape != nil {
		if d := h.Shape.Differs(ck.Shape); d != "" {
			return fmt.Errorf("the reference %s is another model than %s: %s", dir, cmp.Or(h.ModelPath, h.Name), d)
		}
	}
	switch {
	case h.VocabHash != "" && h.VocabHash != ck.VocabHash:
		return fmt.Errorf("the reference %s has another vocabulary than %s: its tokenizer maps tokens to other ids", dir, cmp.Or(h.ModelPath, h.Name))
	case ck.TokenizerSize != h.VocabSize:
		return fmt.Errorf("the reference %s has a vocabulary of %d ids, %s one of %d", dir, ck.TokenizerSize, cmp.Or(h.ModelPath, h.Name), h.VocabSize)
	}
	return nil
}

func scoreHF(ctx context.Context, in *pyembed.Interpreter, m *result.Mismatch, rs []engine.Response, longest int) ([][]float64, error) {
	ref := m.Reference
	why, err := engine.ReferenceFits(ctx, in, ref.Model, ref.Device, ref.TokenBudget, longest)
	if err != nil {
		return nil, err
	}
	if why != "" {
		return nil, errors.New(why)
	}
	start := time.Now()
	hf, err := engine.LoadReference(ctx, in, ref.Model, ref.Device)
	m.Timings.ReferenceLoad = time.Since(start).Seconds()
	if err != nil {
		return nil, err
	}
	start = time.Now()
	scores, err := hf.Score(ctx, rs, ref.TokenBudget)
	m.Timings.ReferenceScore = time.Since(start).Seconds()
	return scores, errors.Join(err, hf.Close(ctx))
}

// scoreVLLM loads the reference as an engine with the rollout's arguments
// (h's) but the reference's checkpoint in BF16.
func scoreVLLM(ctx context.Context, in *pyembed.Interpreter, h result.SamplesHeader, m *result.Mismatch, rs []engine.Response, longest int) ([][]float64, error) {
	kw := make(map[string]any, len(h.EngineKwargs))
	for k, v := range h.EngineKwargs {
		// A samples file's numbers read as float64; vLLM's integer
		// arguments refuse them.
		if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			v = int(f)
		}
		kw[k] = v
	}
	delete(kw, "quantization")
	kw["model"], kw["dtype"] = m.Reference.Model, "bfloat16"
	if n, ok := kw["max_model_len"].(int); ok && n < longest+1 {
		kw["max_model_len"] = longest + 1
	}
	m.Reference.EngineKwargs = kw
	start := time.Now()
	eng, err := engine.Open(ctx, in, kw)
	m.Timings.ReferenceLoad = time.Since(start).Seconds()
	if err != nil {
		return nil, fmt.Errorf("load the reference engine %s: %w", m.Reference.Model, err)
	}
	start = time.Now()
	scores, err := eng.ScoreResponses(ctx, rs)
	m.Timings.ReferenceScore = time.Since(start).Seconds()
	return scores, errors.Join(err, shutDown(ctx, eng))
}
