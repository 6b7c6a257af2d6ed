package loadgen

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Result is one sample: one request in per-sample mode, one choice of a
// request in n-in-request mode. Times are in milliseconds, offsets from the
// run's start and latencies from the request's send, all read from Go's
// monotonic clock.
type Result struct {
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
func (r Result) OK() bool { return r.Error == "" }

// OutputTokens is the sample's output length: the server's count when it
// belongs to this sample alone, the stream's count otherwise.
func (r Result) OutputTokens() int {
	if r.HasUsage && !r.UsagePerRequest {
		return r.UsageOutputTokens
	}
	return r.StreamOutputTokens
}

// tally accumulates one response as it streams.
type tally struct {
	choices []choiceTally
	usage   *Usage
	err     string
	done    bool
}

type choiceTally struct {
	tokens int
	first  time.Duration
	last   time.Duration
	itl    []float64
	finish string
}

func newTally(n, maxTokens int) *tally {
	t := &tally{choices: make([]choiceTally, n)}
	for i := range t.choices {
		t.choices[i].itl = make([]float64, 0, min(max(0, maxTokens-1), 1024))
	}
	return t
}

func (t *tally) fail(format string, args ...any) {
	if t.err == "" {
		t.err = fmt.Sprintf(format, args...)
	}
}

// add records a chunk that arrived at time at (since send).
func (t *tally) add(c Chunk, at time.Duration) {
	if c.Error != "" {
		t.fail("server error: %s", c.Error)
	}
	if c.Usage != nil {
		t.usage = c.Usage
	}
	for _, d := range c.Choices {
		if d.Index < 0 || d.Index >= len(t.choices) {
			t.fail("choice index %d outside 0..%d", d.Index, len(t.choices)-1)
			continue
		}
		ch := &t.choices[d.Index]
		if d.FinishReason != "" {
			ch.finish = d.FinishReason
		}
		k := d.Tokens()
		if k == 0 {
			continue
		}
		if ch.tokens == 0 {
			ch.first = at
		} else {
			ch.itl = append(ch.itl, ms(at-ch.last))
		}
		ch.tokens += k
		ch.last = at
	}
}

// read consumes a 200 response's event stream, taking each event's arrival
// time from now, and returns when the response ended.
func (t *tally) read(er *EventReader, now func() time.Duration) time.Duration {
	var dec chunkDecoder
	for {
		data, err := er.Next()
		at := now()
		switch {
		case err == io.EOF:
			t.fail("stream ended before data: [DONE]")
			return at
		case err != nil:
			t.fail("reading stream: %v", err)
			return at
		}
		c, err := dec.decode(data)
		if err != nil {
			t.fail("%v", err)
			continue
		}
		if c.Done {
			t.done = true
			return at
		}
		t.add(c, at)
	}
}

// results turns the tally into one Result per choice, copying base (which
// has the request's identity, send times and status) and numbering samples
// from base.Sample.
func (t *tally) results(base Result, end time.Duration) []Result {
	n := len(t.choices)
	base.E2ELMs = ms(end)
	base.DoneMs = base.SentMs + base.E2ELMs
	streamTotal := 0
	for _, ch := range t.choices {
		streamTotal += ch.tokens
	}
	if t.usage != nil {
		base.HasUsage = true
		base.UsageOutputTokens = t.usage.CompletionTokens
		if t.usage.PromptTokens > 0 {
			base.PromptTokens = t.usage.PromptTokens
		}
		base.TokenMismatch = t.usage.CompletionTokens != streamTotal
	}
	base.UsagePerRequest = n > 1
	out := make([]Result, n)
	for i, ch := range t.choices {
		r := base
		r.Sample = base.Sample + i
		r.StreamOutputTokens = ch.tokens
		r.FinishReason = ch.finish
		r.Error = t.err
		if ch.tokens > 0 {
			r.TTFTMs = ms(ch.first)
			r.ITLMs = ch.itl
			if n > 1 {
				r.E2ELMs = ms(ch.last)
			}
		} else if r.Error == "" {
			r.Error = "no token received for this sample"
		}
		if k := r.OutputTokens(); k > 1 && r.Error == "" {
			r.TPOTMs = (r.E2ELMs - r.TTFTMs) / float64(k-1)
		}
		out[i] = r
	}
	return out
}

// account reads one response and returns its n Results, built on base
// (the request's identity and send times); now gives the time since send.
// The stream is read through er, reset to body (nil: a new reader).
func account(base Result, n, maxTokens, status int, body io.Reader, er *EventReader, now func() time.Duration) []Result {
	base.Status = status
	if status != http.StatusOK {
		msg := httpError(status, body)
		base.E2ELMs = ms(now())
		base.DoneMs = base.SentMs + base.E2ELMs
		return failed(base, n, msg)
	}
	t := newTally(n, maxTokens)
	if er == nil {
		er = NewEventReader(body)
	} else {
		er.Reset(body)
	}
	end := t.read(er, now)
	if t.done {
		// Whatever follows [DONE] is read so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	}
	return t.results(base, end)
}

// failed returns n failed Results copied from base.
func failed(base Result, n int, msg string) []Result {
	out := make([]Result, n)
	for i := range out {
		r := base
		r.Sample = base.Sample + i
		r.Error = msg
		out[i] = r
	}
	return out
}

// httpError describes a non-200 response from its body: the server's error
// message when the body is one of vLLM's error objects, the body otherwise.
func httpError(status int, body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	msg := strings.TrimSpace(string(b))
	if c, err := DecodeChunk(b); err == nil && c.Error != "" {
		msg = c.Error
	} else {
		msg = clip([]byte(msg), 200)
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return fmt.Sprintf("HTTP %d: %s", status, msg)
}

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
