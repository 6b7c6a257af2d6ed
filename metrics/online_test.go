package metrics

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// sample is a completed per-sample result with the timings given; TPOT
// follows vllm bench serve's definition.
func sample(req int, ttft, e2el float64, itl []float64, tokens int) RequestResult {
	r := RequestResult{
		Request: req, Prompt: req, Sent: true, Status: 200, ReadyMs: 0, SentMs: 1, WroteMs: 1.5,
		TTFTMs: ttft, ITLMs: itl, E2ELMs: e2el, DoneMs: 1 + e2el, PromptTokens: 4,
		HasUsage: true, UsageOutputTokens: tokens, StreamOutputTokens: tokens, FinishReason: "length",
	}
	if tokens > 1 {
		r.TPOTMs = (e2el - ttft) / float64(tokens-1)
	}
	return r
}

func TestOnline(t *testing.T) {
	results := []RequestResult{
		sample(0, 10, 20, []float64{5, 5}, 3), // TPOT 5
		sample(1, 20, 40, []float64{20}, 2),   // TPOT 20
		sample(2, 30, 30, nil, 1),             // no TPOT
		{Request: 3, Prompt: 3, Sent: true, SentMs: 2, WroteMs: 2.5, DoneMs: 50, Status: 500, Error: "HTTP 500: boom", PromptTokens: 4},
	}
	m := ComputeOnline(results, 2)
	ints := []struct {
		name      string
		got, want int
	}{
		{"requests", m.Requests, 4}, {"completed", m.CompletedRequests, 3}, {"failed", m.FailedRequests, 1},
		{"samples", m.Samples, 4}, {"completed samples", m.CompletedSamples, 3}, {"failed samples", m.FailedSamples, 1},
		{"input tokens", m.InputTokens, 12}, {"output tokens", m.OutputTokens, 6}, {"mismatches", m.TokenMismatches, 0},
		{"ttft count", m.TTFT.Count, 3}, {"tpot count", m.TPOT.Count, 2}, {"itl count", m.ITL.Count, 3}, {"e2el count", m.E2EL.Count, 3},
		{"send lag count", m.SendLag.Count, 4},
	}
	for _, c := range ints {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	floats := []struct {
		name      string
		got, want float64
	}{
		{"duration", m.DurationS, 0.05}, // the failed request ended last
		{"request throughput", m.RequestThroughput, 60}, {"output throughput", m.OutputThroughput, 120},
		{"total token throughput", m.TotalTokenThroughput, 360},
		{"mean ttft", m.TTFT.Mean, 20}, {"median ttft", m.TTFT.Median, 20},
		{"mean tpot", m.TPOT.Mean, 12.5}, {"mean itl", m.ITL.Mean, 10}, {"mean e2el", m.E2EL.Mean, 30},
		{"p50 send lag", m.SendLag.P50, 1}, {"p99 send lag", m.SendLag.P99, 1.97},
		{"p50 client overhead", m.ClientOverhead.P50, 1.5},
	}
	for _, c := range floats {
		if !approx(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if m.FinishReasons["length"] != 3 || len(m.FinishReasons) != 1 {
		t.Errorf("finish reasons = %v", m.FinishReasons)
	}
	notes := strings.Join(m.Notes, "\n")
	for _, want := range []string{"1 of 4 samples (1 of 4 requests) failed", "first error: HTTP 500: boom",
		"4 requests for 2 concurrency slots", "TTFT: only 3 values", "ITL: only 3 values"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

func TestOnlineUsagePerRequestAndFallback(t *testing.T) {
	// One request with n=2 (usage 5 for both choices, 2 + 3 in the stream),
	// one per-sample request without usage (4 tokens in the stream), one with
	// usage 3 but 2 tokens streamed.
	a, b := sample(0, 1, 4, []float64{3}, 2), sample(0, 2, 5, []float64{1, 2}, 3)
	for i, r := range []*RequestResult{&a, &b} {
		r.Sample, r.UsagePerRequest, r.UsageOutputTokens = i, true, 5
	}
	c := sample(1, 1, 4, []float64{1, 1, 1}, 4)
	c.HasUsage, c.UsageOutputTokens = false, 0
	d := sample(2, 1, 3, []float64{2}, 2)
	d.UsageOutputTokens, d.TokenMismatch = 3, true
	m := ComputeOnline([]RequestResult{a, b, c, d}, 128)
	if m.Requests != 3 || m.Samples != 4 || m.OutputTokens != 5+4+3 || m.StreamOutputTokens != 5+4+2 ||
		m.InputTokens != 12 || m.UsageMissing != 1 || m.TokenMismatches != 1 {
		t.Errorf("requests %d samples %d output %d stream %d input %d usage missing %d mismatches %d, want 3 4 12 11 12 1 1",
			m.Requests, m.Samples, m.OutputTokens, m.StreamOutputTokens, m.InputTokens, m.UsageMissing, m.TokenMismatches)
	}
	notes := strings.Join(m.Notes, "\n")
	for _, want := range []string{"1 completed requests reported no usage", "usage covers the whole request",
		"1 completed requests have usage.completion_tokens different"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

func TestVLLMKeys(t *testing.T) {
	m := ComputeOnline([]RequestResult{sample(0, 10, 20, []float64{5, 5}, 3)}, 8)
	raw, err := json.Marshal(m.VLLMKeys())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := []string{"duration", "completed", "failed", "total_input_tokens", "total_output_tokens",
		"request_throughput", "output_throughput", "total_token_throughput", "max_concurrency"}
	for _, metric := range []string{"ttft", "tpot", "itl", "e2el"} {
		for _, stat := range []string{"mean", "median", "std", "p50", "p90", "p95", "p99"} {
			want = append(want, stat+"_"+metric+"_ms")
		}
	}
	keys := slices.Sorted(maps.Keys(got))
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("keys = %v\nwant %v", keys, want)
	}
	if got["completed"] != 1.0 || got["max_concurrency"] != 8.0 || got["mean_tpot_ms"] != 5.0 || got["p99_itl_ms"] != 5.0 {
		t.Errorf("values: %v", got)
	}
}
