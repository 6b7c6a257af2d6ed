package result

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rollbench/rollbench/metrics"
)

func TestSetGenerationFillsVLLMBenchKeys(t *testing.T) {
	var r Offline
	r.SetGeneration(metrics.Tokens{Prompts: 32, Sequences: 256, PromptTokens: 32 * 512, OutputTokens: 256 * 256}, 4*time.Second)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	// What `vllm bench throughput --output-json` writes for the same run:
	// num_requests counts prompts, total_num_tokens counts each prompt once.
	want := map[string]float64{
		"elapsed_time":        4,
		"num_requests":        32,
		"total_num_tokens":    32*512 + 256*256,
		"requests_per_second": 8,
		"tokens_per_second":   (32*512 + 256*256) / 4.0,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	if r.Throughput.OutputTokensPerSecond != 256*256/4.0 || r.Throughput.SequencesPerSecond != 64 {
		t.Errorf("throughput = %+v", r.Throughput)
	}
}

func TestWriteIsAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	path := filepath.Join(dir, "m_bf16.json")
	if err := Write(path, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, map[string]int{"a": 2}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "{\n  \"a\": 2\n}\n" {
		t.Errorf("content = %q", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	blocker := filepath.Join(t.TempDir(), "file")
	_ = os.WriteFile(blocker, nil, 0o644)
	if err := Write(filepath.Join(blocker, "x.json"), 1); err == nil || !strings.Contains(err.Error(), "create result directory") {
		t.Errorf("writing below a file: %v", err)
	}
}
