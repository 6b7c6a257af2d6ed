package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Vocabulary is what prompts may be drawn from.
type Vocabulary struct {
	// Size is the number of ids the tokenizer knows, which may be fewer
	// than the model's embedding rows.
	Size int `json:"size"`
	// Special are the ids of special tokens (EOS, chat markers).
	Special []int `json:"special"`
}

// ReadVocabulary reads a model directory's tokenizer.json, for runs where no
// tokenizer is loaded in this process (a server holds it). A model without
// one falls back to config.json's vocab_size, with no special ids known.
func ReadVocabulary(dir string) (Vocabulary, error) {
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if errors.Is(err, os.ErrNotExist) {
		return configVocabulary(dir)
	}
	if err != nil {
		return Vocabulary{}, fmt.Errorf("read tokenizer: %w", err)
	}
	var tok struct {
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
		Added []struct {
			ID      int  `json:"id"`
			Special bool `json:"special"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(data, &tok); err != nil {
		return Vocabulary{}, fmt.Errorf("%s/tokenizer.json: %w", dir, err)
	}
	var v Vocabulary
	for _, id := range tok.Model.Vocab {
		v.Size = max(v.Size, id+1)
	}
	for _, a := range tok.Added {
		v.Size = max(v.Size, a.ID+1)
		if a.Special {
			v.Special = append(v.Special, a.ID)
		}
	}
	if v.Size == 0 {
		return Vocabulary{}, fmt.Errorf("%s/tokenizer.json has no vocabulary", dir)
	}
	return v, nil
}

func configVocabulary(dir string) (Vocabulary, error) {
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return Vocabulary{}, fmt.Errorf("read vocabulary: %w", err)
	}
	var c struct {
		VocabSize int `json:"vocab_size"`
	}
	if err := json.Unmarshal(data, &c); err != nil || c.VocabSize <= 0 {
		return Vocabulary{}, fmt.Errorf("%s: no tokenizer.json and no vocab_size in config.json", dir)
	}
	return Vocabulary{Size: c.VocabSize}, nil
}
