package dataset

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzRead checks that Read returns prompts or an error, never a panic, for
// any bytes in a file with the given extension.
func fuzzRead(f *testing.F, ext string, seeds ...string) {
	for _, s := range seeds {
		data, err := os.ReadFile(filepath.Join("testdata", s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "d"+ext)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Read(path)
		if err == nil && len(file.Chats) == 0 {
			t.Error("no error and no rows")
		}
	})
}

func FuzzReadJSONL(f *testing.F) {
	fuzzRead(f, ".jsonl", "gsm8k_sample.jsonl", "plain.jsonl", "no_prompt.jsonl")
}

func FuzzReadParquet(f *testing.F) {
	fuzzRead(f, ".parquet", "gsm8k_sample.parquet", "no_prompt.parquet", "corrupt.parquet")
}

// TestReadMutatedParquet reads one-byte corruptions of the fixture (every
// fifth byte inverted, or set to 0x7f): parquet-go panics on some, which
// Read must turn into errors.
func TestReadMutatedParquet(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "gsm8k_sample.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.parquet")
	failed := 0
	for i := 0; i < 2*len(data); i += 5 {
		m := append([]byte(nil), data...)
		if i < len(data) {
			m[i] ^= 0xff
		} else {
			m[i-len(data)] = 0x7f
		}
		if err := os.WriteFile(path, m, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(path); err != nil {
			failed++
		}
	}
	// Most corruptions of data pages go unnoticed (parquet has no
	// checksums here); those of the footer and headers do not.
	if failed == 0 {
		t.Error("no corruption was noticed")
	}
}
