package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/golden"
	"github.com/rollbench/rollbench/internal/result"
)

// TestConsole writes the console summary of each result in
// testdata/console and compares it with NAME.console.golden beside it.
func TestConsole(t *testing.T) {
	const path = "benchmark_results/tiny_bf16.json"
	for _, tc := range []struct {
		name  string
		res   any
		write func(*bytes.Buffer, any) error
	}{
		{"offline", &result.Offline{}, func(b *bytes.Buffer, r any) error { return Console(b, r, path) }},
		{"offline_mismatch", &result.Offline{}, func(b *bytes.Buffer, r any) error { return Console(b, r, path) }},
		{"offline_mismatch_error", &result.Offline{}, func(b *bytes.Buffer, r any) error { return Console(b, r, path) }},
		{"replicas", &result.Offline{}, func(b *bytes.Buffer, r any) error { return Console(b, r, path) }},
		{"replicas_joined", &result.Offline{}, func(b *bytes.Buffer, r any) error { return Console(b, r, path) }},
		{"score", &result.Score{}, func(b *bytes.Buffer, r any) error { return Console(b, r, "/results/tiny_w8a8.score.json") }},
		{"score_failed", &result.Score{}, func(b *bytes.Buffer, r any) error { return Console(b, r, "/results/tiny_w8a8.score.json") }},
		{"online", &result.Online{}, func(b *bytes.Buffer, r any) error { return Console(b, r, path) }},
		{"session", &result.Session{}, func(b *bytes.Buffer, r any) error {
			return ConsoleSession(b, r.(*result.Session), "configs/profile-session.yaml", "benchmark_profiles/tiny_bf16/profile-session.session.json")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "console")
			data, err := os.ReadFile(filepath.Join(dir, tc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields() // a misspelt key in the input would leave a figure zero
			if err := dec.Decode(tc.res); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := tc.write(&got, tc.res); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join(dir, tc.name+".console.golden"), got.Bytes(), *update)
		})
	}
}

// TestConsolePaired writes the console summary of the paired fixtures,
// the failed one too, and of one whose arms were scored.
func TestConsolePaired(t *testing.T) {
	for _, tc := range []struct{ dir, name, golden string }{
		{"paired", "small_paired", "small_paired"},
		{"paired", "big_paired", "big_paired"},
		{"mismatch", "small_paired", "small_paired_mismatch"},
	} {
		name := tc.name
		t.Run(tc.golden, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.dir, name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var p result.Paired
			if err := json.Unmarshal(data, &p); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := Console(&got, &p, "benchmark_results/"+name+".json"); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "console", tc.golden+".console.golden"), got.Bytes(), *update)
		})
	}
}

func TestConsoleRejectsOtherTypes(t *testing.T) {
	err := Console(&bytes.Buffer{}, &result.Session{}, "x.json")
	if err == nil || !strings.Contains(err.Error(), "*result.Session") {
		t.Errorf("Console(*result.Session) = %v, want an error naming the type", err)
	}
}
