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
	if err := Write(filepath.Join(blocker, "x.json"), 1); err == nil || !strings.Contains(err.Error(), "write result "+filepath.Join(blocker, "x.json")+": mkdir "+blocker+": not a directory") {
		t.Errorf("writing below a file: %v", err)
	}
}

func TestCloseRepetitions(t *testing.T) {
	one := &Offline{}
	one.AddRepetition(Repetition{GenerateS: 1, OutputTokensPerSecond: 100, TotalTokensPerSecond: 200})
	one.CloseRepetitions()
	if one.Confidence != nil || len(one.Warnings) != 0 {
		t.Errorf("one repetition: confidence %+v, warnings %q", one.Confidence, one.Warnings)
	}

	r := &Offline{}
	makespan := []float64{1.1, 1.0, 0.9}
	for i, g := range []float64{1, 2, 1} {
		r.AddRepetition(Repetition{GenerateS: g, OutputTokensPerSecond: 100 / g, TotalTokensPerSecond: 200 / g, MakespanS: &makespan[i]})
	}
	r.CloseRepetitions()
	c := r.Confidence
	if c == nil || c.GenerateS.N != 3 || c.OutputTokensPerSecond.Mean != 250.0/3 || c.MakespanS == nil || c.MakespanS.Mean != 1 {
		t.Fatalf("confidence %+v", c)
	}
	// generate_s 1, 2, 1: mean 4/3, std 0.577, CV 43%; 2 is 50% off.
	want := []string{
		"generate_s is unstable: CV 43.3% over 3 repetitions exceeds 10%",
		"generate_s: repetitions 50% or more off the mean 1.333: #2 2 (+50%)",
	}
	if len(r.Warnings) < 2 || r.Warnings[0] != want[0] || r.Warnings[1] != want[1] {
		t.Errorf("warnings %q, want to start with %q", r.Warnings, want)
	}
}

// TestHeaderInline checks that every result keeps its header at the top
// level of its file, failed until it says otherwise.
func TestHeaderInline(t *testing.T) {
	for _, v := range []any{
		&Offline{Header: Started(Schema, "tiny_bf16", "tiny")},
		&Online{Header: Started(OnlineSchema, "tiny_bf16", "tiny")},
		&Session{Header: Started(SessionSchema, "tiny_bf16", "tiny")},
	} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if m["name"] != "tiny_bf16" || m["model_name"] != "tiny" || m["status"] != StatusFailed || m["started_at"] == nil || m["schema"] == nil {
			t.Errorf("%T: header not at the top level: %s", v, data)
		}
	}
}
