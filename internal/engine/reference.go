//go:build !nopython

package engine

import (
	"context"
	"fmt"

	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/pyembed"
)

// The trainer's view of a scored pass: the BF16 policy's log-prob of every
// response token, from rollbench.reference (a Hugging Face forward, as
// verl's FSDP actor computes old_log_probs) or from a BF16 engine's
// prompt_logprobs (rollbench.rollout_logprobs).

// Response is a sampled response and the prompt it continues.
type Response struct {
	Prompt, Response []int
}

// pairs are responses as the Python side takes them: (prompt, response)
// lists.
func pairs(rs []Response) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = []any{r.Prompt, r.Response}
	}
	return out
}

// Checkpoint is what a model directory holds apart from its weights'
// precision (rollbench.checkpoint.identity).
type Checkpoint struct {
	Shape result.ModelShape `json:"shape"`
	// TokenizerSize is len(tokenizer): every token id is below it.
	TokenizerSize int    `json:"tokenizer_size"`
	VocabHash     string `json:"vocab_sha256"`
}

// Identify reads dir's config and tokenizer.
func Identify(ctx context.Context, in *pyembed.Interpreter, dir string) (Checkpoint, error) {
	var c Checkpoint
	err := in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.checkpoint")
		if err != nil {
			return err
		}
		id, err := m.CallMethod("identity", []any{dir}, nil)
		if err != nil {
			return err
		}
		return decodeJSON(s, id, &c)
	})
	if err != nil {
		return c, fmt.Errorf("read checkpoint %s: %w", dir, err)
	}
	return c, nil
}

// Reference is a BF16 Hugging Face model in the embedded interpreter.
type Reference struct {
	in  *pyembed.Interpreter
	ref *pyembed.Handle
}

// ReferenceFits says why the reference in dir would not fit device's free
// memory with forwards of budget tokens, or "" when it fits.
func ReferenceFits(ctx context.Context, in *pyembed.Interpreter, dir, device string, budget, seqLen int) (string, error) {
	var reason string
	err := in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.reference")
		if err != nil {
			return err
		}
		r, err := m.CallMethod("fits", []any{dir}, pyembed.Kwargs{"device": device, "token_budget": budget, "seq_len": seqLen})
		if err != nil || r.IsNone() {
			return err
		}
		reason, err = r.Str()
		return err
	})
	if err != nil {
		return "", fmt.Errorf("size the reference %s: %w", dir, err)
	}
	return reason, nil
}

// LoadReference loads dir's weights in BF16 on device.
func LoadReference(ctx context.Context, in *pyembed.Interpreter, dir, device string) (*Reference, error) {
	r := &Reference{in: in}
	err := in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.reference")
		if err != nil {
			return err
		}
		cls, err := m.Attr("Reference")
		if err != nil {
			return err
		}
		ref, err := cls.CallMethod("load", []any{dir}, pyembed.Kwargs{"device": device})
		if err != nil {
			return err
		}
		r.ref = ref.Keep()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load the reference %s: %w", dir, err)
	}
	return r, nil
}

// Score is the reference's log-prob of every response token, in forwards
// of at most budget padded tokens.
func (r *Reference) Score(ctx context.Context, rs []Response, budget int) ([][]float64, error) {
	var out [][]float64
	err := r.in.Do(ctx, func(s *pyembed.Scope) error {
		arg, err := s.Value(pairs(rs))
		if err != nil {
			return err
		}
		scores, err := s.Object(r.ref).CallMethod("score", []any{arg}, pyembed.Kwargs{"token_budget": budget})
		if err != nil {
			return err
		}
		out, err = floatLists(scores)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("score with the reference: %w", err)
	}
	return out, nil
}

// Close drops the model, so that its memory returns before whatever runs
// next in this process.
func (r *Reference) Close(ctx context.Context) error {
	if r.ref == nil {
		return nil
	}
	r.ref.Release()
	r.ref = nil
	return r.in.Do(ctx, func(s *pyembed.Scope) error {
		gc, err := s.Import("gc")
		if err != nil {
			return err
		}
		_, err = gc.CallMethod("collect", nil, nil)
		return err
	})
}

// ScoreResponses is a BF16 engine's log-prob of every response token, from
// its prompt_logprobs over prompt+response in one LLM.generate.
func (e *Engine) ScoreResponses(ctx context.Context, rs []Response) ([][]float64, error) {
	var out [][]float64
	err := e.in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.rollout_logprobs")
		if err != nil {
			return err
		}
		arg, err := s.Value(pairs(rs))
		if err != nil {
			return err
		}
		scores, err := m.CallMethod("score_with_vllm", []any{s.Object(e.llm), arg}, nil)
		if err != nil {
			return err
		}
		out, err = floatLists(scores)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("score with the reference engine: %w", err)
	}
	return out, nil
}

func floatLists(o pyembed.Object) ([][]float64, error) {
	n, err := o.Len()
	if err != nil {
		return nil, err
	}
	out := make([][]float64, n)
	for i := range n {
		item, err := o.Index(i)
		if err != nil {
			return nil, err
		}
		if out[i], err = item.Floats(); err != nil {
			return nil, fmt.Errorf("sample %d: %w", i, err)
		}
	}
	return out, nil
}
