//go:build !nopython

package engine

import (
	"context"
	"fmt"

	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload/dataset"
)

// ChatTokens turns conversations into the token ids the model sees, as
// verl's RLHFDataset does: the model's own chat template with the
// generation prompt added, rendered to text, then tokenized without adding
// special tokens a second time. The tokenizer is transformers' AutoTokenizer
// for the model directory, loaded apart from (and before) any engine, so a
// dataset that does not fit is refused before the model loads.
func ChatTokens(ctx context.Context, in *pyembed.Interpreter, model string, chats [][]dataset.Message) ([][]int, error) {
	out := make([][]int, len(chats))
	err := in.Do(ctx, func(s *pyembed.Scope) error {
		transformers, err := s.Import("transformers")
		if err != nil {
			return err
		}
		auto, err := transformers.Attr("AutoTokenizer")
		if err != nil {
			return err
		}
		tok, err := auto.CallMethod("from_pretrained", []any{model}, nil)
		if err != nil {
			return fmt.Errorf("load the tokenizer of %s: %w", model, err)
		}
		for i, c := range chats {
			msgs := make([]map[string]string, len(c))
			for j, m := range c {
				msgs[j] = map[string]string{"role": m.Role, "content": m.Content}
			}
			text, err := tok.CallMethod("apply_chat_template", []any{msgs}, pyembed.Kwargs{"add_generation_prompt": true, "tokenize": false})
			if err != nil {
				return fmt.Errorf("chat template of row %d: %w", i, err)
			}
			ids, err := tok.CallMethod("encode", []any{text}, pyembed.Kwargs{"add_special_tokens": false})
			if err != nil {
				return fmt.Errorf("tokenize row %d: %w", i, err)
			}
			if out[i], err = ids.Ints(); err != nil {
				return fmt.Errorf("tokenize row %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
