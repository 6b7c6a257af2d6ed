package metrics

import (
	"fmt"
	"maps"
	"slices"
)

// RequestResult is one sample of an online run, as internal/loadgen measures
// it: one request in per-sample mode, one choice of a request in
// n-in-request mode. Times are in milliseconds, offsets from the run's start
// and latencies from the request's send, all read from Go's monotonic clock.
type RequestResult struct {
	// Request numbers the HTTP request within the run; in n-in-request mode
	// the n samples of a request share it.
	Request int `json:"request"`
	Prompt  int `json:"prompt"`
	Sample  int `json:"sample"`

	// ScheduledMs is when the request was meant to be sent (0: the rollout
	// submits everything at once), ReadyMs when it could have been (its
	// schedule, or later when it had to wait for one of the MaxConcurrency
	// slots), SentMs when the client handed it to the HTTP transport and
	// WroteMs when the transport had written it to the connection. Sent is
	// false for a request never attempted because the run's context ended.
	ScheduledMs float64 `json:"scheduled_ms"`
	ReadyMs     float64 `json:"ready_ms"`
	SentMs      float64 `json:"sent_ms"`
	WroteMs     float64 `json:"wrote_ms"`
	Sent        bool    `json:"sent"`
	// DoneMs is when the response ended: "data: [DONE]", the end of the
	// body, or the error.
	DoneMs float64 `json:"done_ms"`

	// TTFTMs is the time from send to the first chunk carrying a token of
	// this sample; ITLMs holds the gaps between its successive token-bearing
	// chunks.
	TTFTMs float64   `json:"ttft_ms"`
	ITLMs  []float64 `json:"itl_ms"`
	// E2ELMs is the time from send to the end of this sample's stream: the
	// end of the response when the request carries one sample, the chunk
	// with this choice's last token when it carries n (the rest of the
	// response belongs to the other choices).
	E2ELMs float64 `json:"e2el_ms"`
	// TPOTMs is (E2EL - TTFT) / (OutputTokens() - 1), as vllm bench serve
	// defines it; 0 when the sample has at most one output token.
	TPOTMs float64 `json:"tpot_ms,omitempty"`

	// PromptTokens is the server's usage.prompt_tokens, or the prompt's
	// length when the server reported no usage.
	PromptTokens int `json:"prompt_tokens"`
	// UsageOutputTokens is the server's usage.completion_tokens; HasUsage
	// says whether the server sent one. With UsagePerRequest the count
	// covers all n choices of the request and is repeated on each of its
	// samples, never split.
	UsageOutputTokens int  `json:"usage_output_tokens"`
	HasUsage          bool `json:"has_usage"`
	UsagePerRequest   bool `json:"usage_per_request,omitempty"`
	// StreamOutputTokens counts this sample's tokens from the stream: one
	// per chunk with text, or the number of token_ids a chunk lists when the
	// server sends them; chunks without either (usage-only chunks, empty
	// deltas) count nothing.
	StreamOutputTokens int `json:"stream_output_tokens"`
	// TokenMismatch is set when the usage count and the stream count (summed
	// over the request's samples with UsagePerRequest) are both known and
	// differ.
	TokenMismatch bool `json:"token_mismatch,omitempty"`

	FinishReason string `json:"finish_reason,omitempty"`
	// Status is the HTTP status; 0 when no response arrived.
	Status int `json:"status"`
	// Error is empty for a sample that completed.
	Error string `json:"error,omitempty"`
}

// OK reports whether the sample completed.
func (r RequestResult) OK() bool { return r.Error == "" }

// OutputTokens is the sample's output length: the server's count when it
// belongs to this sample alone, the stream's count otherwise.
func (r RequestResult) OutputTokens() int {
	if r.HasUsage && !r.UsagePerRequest {
		return r.UsageOutputTokens
	}
	return r.StreamOutputTokens
}

// Online describes an online run from its results. Set MaxConcurrency, Add
// every RequestResult (in any order), then Close. Requests are counted once
// however many samples they carry; latencies are per sample, over completed
// samples only.
type Online struct {
	// MaxConcurrency is the run's cap, reported as vllm bench serve's
	// max_concurrency.
	MaxConcurrency int `json:"max_concurrency"`

	// DurationS runs from the run's start to the end of its last response.
	DurationS float64 `json:"duration_s"`

	Requests          int `json:"requests"`
	CompletedRequests int `json:"completed_requests"`
	FailedRequests    int `json:"failed_requests"`
	Samples           int `json:"samples"`
	CompletedSamples  int `json:"completed_samples"`
	FailedSamples     int `json:"failed_samples"`

	// InputTokens and OutputTokens sum over completed requests, each counted
	// once: prompt tokens per request sent (so a prompt sent n times in
	// per-sample mode counts n times, as vllm bench serve counts it), output
	// tokens from the server's usage, or from the stream for a request
	// without usage (UsageMissing counts those).
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	// StreamOutputTokens is the stream's count over the same requests.
	StreamOutputTokens int `json:"stream_output_tokens"`
	UsageMissing       int `json:"usage_missing"`
	// TokenMismatches counts completed requests whose usage and stream
	// counts differ.
	TokenMismatches int `json:"token_mismatches"`

	RequestThroughput    float64 `json:"request_throughput"`
	OutputThroughput     float64 `json:"output_throughput"`
	TotalTokenThroughput float64 `json:"total_token_throughput"`

	// TTFT, TPOT, ITL (every gap of every sample pooled) and E2EL are in
	// milliseconds over completed samples; TPOT only over samples with more
	// than one output token. Like every latency summary here they are the
	// figures vllm bench serve computes with numpy: population std
	// (std_ddof 0) and linear percentiles.
	TTFT Summary `json:"ttft_ms"`
	TPOT Summary `json:"tpot_ms"`
	ITL  Summary `json:"itl_ms"`
	E2EL Summary `json:"e2el_ms"`

	// SendLag is the client's delay per request sent: actual send minus
	// scheduled send. It includes waiting for a concurrency slot when there
	// are more requests than MaxConcurrency. ClientOverhead is the client's
	// own cost: from the moment a slot was free to the request written on
	// its connection (which includes opening the connection).
	SendLag        Summary `json:"send_lag_ms"`
	ClientOverhead Summary `json:"client_overhead_ms"`

	FinishReasons map[string]int `json:"finish_reasons"`
	// Notes say what the numbers leave out or rest on, as footnotes.
	Notes []string `json:"notes,omitempty"`

	requests              map[int]*requestTally
	ttft, tpot, itl, e2el []float64
	firstError            string
	perRequestUsage       bool
	doneMs                float64
}

type requestTally struct {
	failed, sent, wrote, hasUsage bool
	prompt, usage, stream         int
	sendLag, overhead             float64
}

// ComputeOnline returns the Online metrics of results.
func ComputeOnline(results []RequestResult, maxConcurrency int) Online {
	m := Online{MaxConcurrency: maxConcurrency}
	for _, r := range results {
		m.Add(r)
	}
	m.Close()
	return m
}

// Add accounts one result.
func (m *Online) Add(r RequestResult) {
	if m.requests == nil {
		m.requests = map[int]*requestTally{}
		m.FinishReasons = map[string]int{}
	}
	q := m.requests[r.Request]
	if q == nil {
		q = &requestTally{
			sent: r.Sent, wrote: r.WroteMs > 0, hasUsage: r.HasUsage, prompt: r.PromptTokens, usage: r.UsageOutputTokens,
			sendLag: r.SentMs - r.ScheduledMs, overhead: r.WroteMs - r.ReadyMs,
		}
		m.requests[r.Request] = q
	}
	q.stream += r.StreamOutputTokens
	m.perRequestUsage = m.perRequestUsage || r.UsagePerRequest
	m.Samples++
	if r.Sent {
		m.doneMs = max(m.doneMs, r.DoneMs)
	}
	if !r.OK() {
		q.failed = true
		m.FailedSamples++
		if m.firstError == "" {
			m.firstError = r.Error
		}
		return
	}
	m.CompletedSamples++
	m.FinishReasons[r.FinishReason]++
	m.ttft = append(m.ttft, r.TTFTMs)
	m.e2el = append(m.e2el, r.E2ELMs)
	m.itl = append(m.itl, r.ITLMs...)
	if r.OutputTokens() > 1 {
		m.tpot = append(m.tpot, r.TPOTMs)
	}
}

// Close computes the totals, rates and statistics.
func (m *Online) Close() {
	m.DurationS = m.doneMs / 1000
	var sendLag, overhead []float64
	for _, id := range slices.Sorted(maps.Keys(m.requests)) {
		q := m.requests[id]
		m.Requests++
		if q.sent {
			sendLag = append(sendLag, q.sendLag)
			if q.wrote {
				overhead = append(overhead, q.overhead)
			}
		}
		if q.failed {
			m.FailedRequests++
			continue
		}
		m.CompletedRequests++
		m.InputTokens += q.prompt
		m.StreamOutputTokens += q.stream
		switch {
		case !q.hasUsage:
			m.UsageMissing++
			m.OutputTokens += q.stream
		default:
			m.OutputTokens += q.usage
			if q.usage != q.stream {
				m.TokenMismatches++
			}
		}
	}
	if m.DurationS > 0 {
		m.RequestThroughput = float64(m.CompletedRequests) / m.DurationS
		m.OutputThroughput = float64(m.OutputTokens) / m.DurationS
		m.TotalTokenThroughput = float64(m.InputTokens+m.OutputTokens) / m.DurationS
	}
	// Population std: these are vllm bench serve's std_ keys.
	sum := func(xs []float64) Summary { return Summarize(xs, Population) }
	m.TTFT, m.TPOT, m.ITL, m.E2EL = sum(m.ttft), sum(m.tpot), sum(m.itl), sum(m.e2el)
	m.SendLag, m.ClientOverhead = sum(sendLag), sum(overhead)
	m.notes()
}

func (m *Online) notes() {
	add := func(format string, args ...any) { m.Notes = append(m.Notes, fmt.Sprintf(format, args...)) }
	if m.FailedSamples > 0 {
		add("%d of %d samples (%d of %d requests) failed and are left out of the latency statistics and token counts; first error: %s",
			m.FailedSamples, m.Samples, m.FailedRequests, m.Requests, m.firstError)
	}
	if m.UsageMissing > 0 {
		add("%d completed requests reported no usage: their output tokens are counted from the stream", m.UsageMissing)
	}
	if m.TokenMismatches > 0 {
		add("%d completed requests have usage.completion_tokens different from the tokens counted in the stream", m.TokenMismatches)
	}
	if m.perRequestUsage {
		add("with n choices in a request, usage covers the whole request: output tokens count each request once; per-sample TPOT uses the stream's count")
	}
	if m.Requests > m.MaxConcurrency && m.MaxConcurrency > 0 {
		add("%d requests for %d concurrency slots: send lag includes waiting for a slot", m.Requests, m.MaxConcurrency)
	}
	for _, s := range []struct {
		name string
		sum  Summary
	}{{"TTFT", m.TTFT}, {"TPOT", m.TPOT}, {"ITL", m.ITL}, {"E2EL", m.E2EL}} {
		if s.sum.Warning != "" {
			add("%s: %s", s.name, s.sum.Warning)
		}
	}
}

// VLLMKeys returns the keys vllm bench serve --save-result writes, with its
// names and meanings: duration in seconds, completed and failed requests,
// token totals, throughputs per second, max_concurrency, and for ttft, tpot,
// itl and e2el: mean_, median_, std_ and p50_, p90_, p95_, p99_ <metric>_ms
// (vLLM writes p{P}_{metric}_ms for each --metric-percentiles value).
func (m *Online) VLLMKeys() map[string]any {
	out := map[string]any{
		"duration":               m.DurationS,
		"completed":              m.CompletedRequests,
		"failed":                 m.FailedRequests,
		"total_input_tokens":     m.InputTokens,
		"total_output_tokens":    m.OutputTokens,
		"request_throughput":     m.RequestThroughput,
		"output_throughput":      m.OutputThroughput,
		"total_token_throughput": m.TotalTokenThroughput,
		"max_concurrency":        m.MaxConcurrency,
	}
	for name, s := range map[string]Summary{"ttft": m.TTFT, "tpot": m.TPOT, "itl": m.ITL, "e2el": m.E2EL} {
		out["mean_"+name+"_ms"] = s.Mean
		out["median_"+name+"_ms"] = s.Median
		out["std_"+name+"_ms"] = s.Std
		out["p50_"+name+"_ms"] = s.P50
		out["p90_"+name+"_ms"] = s.P90
		out["p95_"+name+"_ms"] = s.P95
		out["p99_"+name+"_ms"] = s.P99
	}
	return out
}
