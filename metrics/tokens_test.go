package metrics

import (
	"strings"
	"testing"
	"time"
)

func req(prompt int, outs ...int) Request {
	r := Request{PromptTokens: prompt}
	for _, o := range outs {
		r.Completions = append(r.Completions, Completion{OutputTokens: o, FinishReason: "length"})
	}
	return r
}

func TestCountAndRates(t *testing.T) {
	reqs := []Request{req(512, 256, 256), req(512, 256, 256)}
	reqs[1].Completions[1].FinishReason = "stop"
	tok := Count(reqs)
	if tok.Prompts != 2 || tok.Sequences != 4 || tok.PromptTokens != 1024 || tok.OutputTokens != 1024 {
		t.Fatalf("counts = %+v", tok)
	}
	if tok.FinishReasons["length"] != 3 || tok.FinishReasons["stop"] != 1 {
		t.Errorf("finish reasons = %v", tok.FinishReasons)
	}
	r := tok.Rates(2 * time.Second)
	want := Throughput{OutputTokensPerSecond: 512, TotalTokensPerSecond: 1024, RequestsPerSecond: 1, SequencesPerSecond: 2}
	if r != want {
		t.Errorf("rates = %+v, want %+v", r, want)
	}
	if (Tokens{}).Rates(0) != (Throughput{}) {
		t.Error("zero elapsed must give zero rates")
	}
}

func TestCheck(t *testing.T) {
	want := Expected{Prompts: 2, N: 2, InputLen: 512, OutputLen: 256, ExactOutput: true}
	for _, tc := range []struct {
		name  string
		reqs  []Request
		warns []string
	}{
		{"as asked", []Request{req(512, 256, 256), req(512, 256, 256)}, nil},
		{"short completion", []Request{req(512, 256, 200), req(512, 256, 256)},
			[]string{"engine returned 968 output tokens, want 4 sequences x 256 = 1024 with ignore_eos (lengths 200..256)"}},
		{"missing sample", []Request{req(512, 256), req(512, 256, 256)},
			[]string{"engine returned 3 sequences, want 2 prompts x n=2 = 4"}},
		{"prompt truncated", []Request{req(500, 256, 256), req(512, 256, 256)},
			[]string{"engine saw 1012 prompt tokens, want 2 prompts x 512 = 1024"}},
		{"missing prompt", []Request{req(512, 256, 256)},
			[]string{"engine returned 1 request outputs for 2 prompts", "engine returned 2 sequences, want 2 prompts x n=2 = 4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Count(tc.reqs).Check(want)
			if len(got) != len(tc.warns) {
				t.Fatalf("warnings = %q, want %d like %q", got, len(tc.warns), tc.warns)
			}
			for i, w := range tc.warns {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
	free := want
	free.ExactOutput = false
	if w := Count([]Request{req(512, 256, 3), req(512, 1, 256)}).Check(free); len(w) != 0 {
		t.Errorf("stopping early is not an anomaly without ignore_eos: %q", w)
	}
	// Dataset prompts: lengths differ, their total is what counts.
	data := want
	data.PromptTokens = 180
	if w := Count([]Request{req(100, 256, 256), req(80, 256, 256)}).Check(data); len(w) != 0 {
		t.Errorf("dataset prompts as drawn: %q", w)
	}
	w := Count([]Request{req(100, 256, 256), req(70, 256, 256)}).Check(data)
	if len(w) != 1 || w[0] != "engine saw 170 prompt tokens, want the 180 of the dataset's prompts" {
		t.Errorf("dataset prompts cut short: %q", w)
	}
}
