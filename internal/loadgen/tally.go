package loadgen

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rollbench/rollbench/metrics"
)

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

// results turns the tally into one RequestResult per choice, copying base
// (which has the request's identity, send times and status) and numbering
// samples from base.Sample.
func (t *tally) results(base metrics.RequestResult, end time.Duration) []metrics.RequestResult {
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
	out := make([]metrics.RequestResult, n)
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

// account reads one response and returns its n RequestResults, built on base
// (the request's identity and send times); now gives the time since send.
// The stream is read through er, reset to body (nil: a new reader).
func account(base metrics.RequestResult, n, maxTokens, status int, body io.Reader, er *EventReader, now func() time.Duration) []metrics.RequestResult {
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

// failed returns n failed RequestResults copied from base.
func failed(base metrics.RequestResult, n int, msg string) []metrics.RequestResult {
	out := make([]metrics.RequestResult, n)
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
