package workload

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReadVocabulary(t *testing.T) {
	write := func(files map[string]string) string {
		dir := t.TempDir()
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	v, err := ReadVocabulary(write(map[string]string{"tokenizer.json": `{"model": {"vocab": {"a": 3, "b": 4, "c": 5}},
		"added_tokens": [{"id": 0, "special": true}, {"id": 1, "special": true}, {"id": 2, "special": false}]}`}))
	if err != nil || v.Size != 6 || !slices.Equal(v.Special, []int{0, 1}) {
		t.Errorf("tokenizer.json: %+v, %v", v, err)
	}
	v, err = ReadVocabulary(write(map[string]string{"config.json": `{"vocab_size": 32000}`}))
	if err != nil || v.Size != 32000 || len(v.Special) != 0 {
		t.Errorf("config fallback: %+v, %v", v, err)
	}
	for _, files := range []map[string]string{{"tokenizer.json": `{"model": {}}`}, {"tokenizer.json": `[`}, {}} {
		if _, err := ReadVocabulary(write(files)); err == nil {
			t.Errorf("%v: want error", files)
		}
	}
}
