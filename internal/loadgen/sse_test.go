package loadgen

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/rollbench/rollbench/internal/golden"
	"github.com/rollbench/rollbench/metrics"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// events reads every event of s, rendering each as a quoted string, and the
// error that ended the stream.
func events(r *EventReader) ([]string, error) {
	var out []string
	for {
		data, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, string(data))
	}
}

// TestEventReaderReset checks that nothing of one stream, such as an event
// cut off without its blank line, carries into the next.
func TestEventReaderReset(t *testing.T) {
	long := strings.Repeat("x", 20<<10) // longer than the reader's buffer
	er := NewEventReader(strings.NewReader("data: a\n\ndata: " + long + "\ndata: cut"))
	if _, err := events(er); err != io.EOF {
		t.Fatalf("first stream: %v", err)
	}
	er.Reset(strings.NewReader("\r\ndata: b\r\n\r\n"))
	got, err := events(er)
	if err != io.EOF || len(got) != 1 || got[0] != "b" {
		t.Errorf("second stream: %q, %v; want [b] and EOF", got, err)
	}
}

func TestEventReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"one event", "data: x\n\n", []string{"x"}},
		{"no space after colon", "data:x\n\n", []string{"x"}},
		{"only one space dropped", "data:  x\n\n", []string{" x"}},
		{"multi-line data joined by newline", "data: a\ndata: b\n\n", []string{"a\nb"}},
		{"empty data line", "data\n\n", []string{""}},
		{"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"lone CR", "data: a\r\rdata: b\r\r", []string{"a", "b"}},
		{"mixed endings", "data: a\r\ndata: b\n\r\n", []string{"a\nb"}},
		{"comments skipped", ": ping\ndata: a\n: between\n\n:\n\n", []string{"a"}},
		{"other fields ignored", "event: x\nid: 7\nretry: 10\ndata: a\n\n", []string{"a"}},
		{"event without data not dispatched", "event: x\n\ndata: a\n\n", []string{"a"}},
		{"unknown field without colon", "foo\ndata: a\n\n", []string{"a"}},
		{"last event without blank line", "data: a\n\ndata: [DONE]", []string{"a", "[DONE]"}},
		{"last event ends in newline only", "data: [DONE]\n", []string{"[DONE]"}},
		{"byte order mark", "\xef\xbb\xbfdata: a\n\n", []string{"a"}},
		{"colon in value", "data: {\"a\":1}\n\n", []string{`{"a":1}`}},
		{"blank lines only", "\n\n\r\n", nil},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte per read, so line ends split across reads are seen too.
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, err := events(NewEventReader(r))
				if err != io.EOF {
					t.Fatalf("err = %v, want io.EOF", err)
				}
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
					t.Errorf("events = %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestEventReaderLongLinesAndLimit(t *testing.T) {
	long := strings.Repeat("x", 100<<10) // longer than the reader's buffer
	got, err := events(NewEventReader(strings.NewReader("data: " + long + "\n\n")))
	if err != io.EOF || len(got) != 1 || got[0] != long {
		t.Fatalf("long line: %d events, err %v", len(got), err)
	}
	for _, in := range []string{"data: " + long + "\n\n", "data: " + long[:40] + "\ndata: " + long[:40] + "\n\n"} {
		r := NewEventReader(strings.NewReader(in))
		r.max = 64
		if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
			t.Errorf("over the limit: err = %v, want ErrEventTooLarge", err)
		}
	}
	r := NewEventReader(iotest.TimeoutReader(strings.NewReader("data: a\n\ndata: b\n\n")))
	if _, err := events(r); err != iotest.ErrTimeout {
		t.Errorf("reader error: got %v, want %v", err, iotest.ErrTimeout)
	}
}

func TestDecodeChunk(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // fmt of the Chunk with Usage dereferenced
		err      bool
	}{
		{"done", "[DONE]", "done", false},
		{"done with spaces", " [DONE] ", "done", false},
		{"token", `{"choices":[{"index":1,"text":" a","logprobs":null,"finish_reason":null,"stop_reason":null,"prompt_token_ids":null,"token_ids":null}]}`,
			`choices [{1 " a" 0 ""}]`, false},
		{"finish and token ids", `{"choices":[{"index":0,"text":"","finish_reason":"stop","stop_reason":7,"token_ids":[1,2]}]}`,
			`choices [{0 "" 2 "stop"}]`, false},
		{"usage only", `{"choices":[],"usage":{"prompt_tokens":4,"total_tokens":7,"completion_tokens":3}}`, "usage {4 3}", false},
		{"usage with null completion tokens", `{"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":null}}`, "", false},
		{"usage null", `{"choices":[],"usage":null}`, "", false},
		{"vLLM error", `{"error": {"message": "Internal server error", "type": "InternalServerError", "param": null, "code": 500}}`,
			"error InternalServerError: Internal server error (code 500)", false},
		{"old vLLM error", `{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}`,
			"error BadRequestError: bad", false},
		{"error string", `{"error":"overloaded"}`, "error overloaded", false},
		{"error of another shape", `{"error":[1]}`, "error [1]", false},
		{"error null", `{"error":null,"choices":[]}`, "", false},
		{"not JSON", `{"choices":`, "", true},
		{"wrong type", `{"choices":[{"index":"0"}]}`, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeChunk([]byte(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got := describeChunk(c); got != tc.want {
				t.Errorf("chunk = %q, want %q", got, tc.want)
			}
		})
	}
}

func describeChunk(c Chunk) string {
	var parts []string
	if c.Done {
		parts = append(parts, "done")
	}
	if len(c.Choices) > 0 {
		var ds []string
		for _, d := range c.Choices {
			ds = append(ds, fmt.Sprintf("{%d %q %d %q}", d.Index, d.Text, d.TokenIDs, d.FinishReason))
		}
		parts = append(parts, "choices ["+strings.Join(ds, " ")+"]")
	}
	if c.Usage != nil {
		parts = append(parts, fmt.Sprintf("usage {%d %d}", c.Usage.PromptTokens, c.Usage.CompletionTokens))
	}
	if c.Error != "" {
		parts = append(parts, "error "+c.Error)
	}
	return strings.Join(parts, " ")
}

// splitRecording separates a testdata stream into its HTTP status and body.
// A file is either a bare body (status 200), as `curl -N` prints it, or a
// whole response with its status line and headers, as `curl -i -N` prints it
// (the body already de-chunked).
func splitRecording(raw []byte) (int, []byte, error) {
	status := http.StatusOK
	for bytes.HasPrefix(raw, []byte("HTTP/")) {
		line, rest, _ := bytes.Cut(raw, []byte("\n"))
		f := strings.Fields(string(line))
		if len(f) < 2 {
			return 0, nil, fmt.Errorf("bad status line %q", line)
		}
		code, err := strconv.Atoi(f[1])
		if err != nil {
			return 0, nil, fmt.Errorf("bad status line %q", line)
		}
		status = code
		for {
			line, rest, _ = bytes.Cut(rest, []byte("\n"))
			if len(bytes.TrimSpace(line)) == 0 {
				break
			}
		}
		raw = rest
	}
	return status, raw, nil
}

// replay renders what rollbench makes of one recorded response: its events
// as decoded, then the samples accounted from it on a fake clock that
// advances 1 ms per event (send at 0). The number of choices is the
// largest choice index seen plus one; the prompt is 4 tokens long.
func replay(status int, body []byte) string {
	var b strings.Builder
	n := 1
	fmt.Fprintf(&b, "status %d\n", status)
	if status == http.StatusOK {
		b.WriteString("# events\n")
		r := NewEventReader(bytes.NewReader(body))
		for k := 1; ; k++ {
			data, err := r.Next()
			if err != nil {
				fmt.Fprintf(&b, "%d end: %v\n", k, err)
				break
			}
			c, err := DecodeChunk(data)
			if err != nil {
				fmt.Fprintf(&b, "%d %v\n", k, err)
				continue
			}
			for _, d := range c.Choices {
				n = max(n, d.Index+1)
			}
			fmt.Fprintf(&b, "%d %s\n", k, describeChunk(c))
		}
	}
	b.WriteString("# samples\n")
	var clock time.Duration
	now := func() time.Duration { clock += time.Millisecond; return clock }
	for _, r := range account(metrics.RequestResult{PromptTokens: 4, Sent: true}, n, 16, status, bytes.NewReader(body), nil, now) {
		fmt.Fprintf(&b, "sample %d: ttft %g itl %v e2el %g tpot %g | prompt %d usage %d (has %t, per request %t) stream %d mismatch %t | finish %q error %q\n",
			r.Sample, r.TTFTMs, r.ITLMs, r.E2ELMs, r.TPOTMs, r.PromptTokens, r.UsageOutputTokens, r.HasUsage, r.UsagePerRequest,
			r.StreamOutputTokens, r.TokenMismatch, r.FinishReason, r.Error)
	}
	return b.String()
}

// TestGolden replays every testdata/*.sse against its .golden. To add a
// recording from a real server:
//
//	curl -sN -i http://127.0.0.1:8000/v1/completions -H 'Content-Type: application/json' \
//	  -d '{"model": "...", "prompt": [1, 2, 3, 4], "max_tokens": 8, "stream": true,
//	       "stream_options": {"include_usage": true}}' > loadgen/testdata/NAME.sse
//	go test ./loadgen -run TestGolden -update
//
// and read NAME.golden before committing it.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.sse")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.sse: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			status, body, err := splitRecording(raw)
			if err != nil {
				t.Fatal(err)
			}
			got := replay(status, body)
			golden.Check(t, strings.TrimSuffix(f, ".sse")+".golden", []byte(got), *update)
		})
	}
}

// TestAccountTPOT checks TPOT against vllm bench serve's definition on a
// stream whose timing the fake clock fixes: tokens at 1, 2 and 3 ms, usage
// at 4, [DONE] at 5, so E2EL 5, TTFT 1 and TPOT (5-1)/(3-1) = 2.
func TestAccountTPOT(t *testing.T) {
	raw, err := os.ReadFile("testdata/normal.sse")
	if err != nil {
		t.Fatal(err)
	}
	var clock time.Duration
	rs := account(metrics.RequestResult{}, 1, 3, 200, bytes.NewReader(raw), nil, func() time.Duration { clock += time.Millisecond; return clock })
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	r := rs[0]
	if r.TTFTMs != 1 || r.E2ELMs != 5 || r.TPOTMs != 2 || fmt.Sprint(r.ITLMs) != "[1 1]" || r.OutputTokens() != 3 {
		t.Errorf("ttft %g e2el %g tpot %g itl %v out %d, want 1 5 2 [1 1] 3", r.TTFTMs, r.E2ELMs, r.TPOTMs, r.ITLMs, r.OutputTokens())
	}
}

// FuzzSSE feeds arbitrary bytes through the whole response path: nothing
// may panic, every request yields exactly n samples, and what is recorded
// stays consistent.
func FuzzSSE(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.sse")
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, uint8(1))
		f.Add(raw, uint8(2))
	}
	for _, s := range []string{
		"data: [DONE]\n\n", "data: {\"choices\":[{\"index\":-1,\"text\":\"x\"}]}\n\n",
		"data: {\"choices\":[{\"index\":9999999999999999999}]}\n\n", "\r\r\r", ":\n", "data\n\n",
		"data: {\"error\":{\"code\":{}}}\n\n", "data: {\"usage\":{\"completion_tokens\":-5}}\n\ndata: [DONE]\n\n",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		k := int(n%4) + 1
		var clock time.Duration
		now := func() time.Duration { clock += time.Millisecond; return clock }
		for _, status := range []int{200, 500} {
			rs := account(metrics.RequestResult{Sent: true}, k, 8, status, bytes.NewReader(data), nil, now)
			if len(rs) != k {
				t.Fatalf("status %d: %d results for n=%d", status, len(rs), k)
			}
			for i, r := range rs {
				if r.Sample != i {
					t.Errorf("result %d has sample %d", i, r.Sample)
				}
				if len(r.ITLMs) > max(0, r.StreamOutputTokens-1) {
					t.Errorf("%d gaps for %d tokens", len(r.ITLMs), r.StreamOutputTokens)
				}
				if r.OK() && (r.StreamOutputTokens == 0 || status != 200) {
					t.Errorf("sample %d completed with %d stream tokens, status %d", i, r.StreamOutputTokens, status)
				}
			}
		}
		er := NewEventReader(bytes.NewReader(data))
		er.max = 64
		for {
			ev, err := er.Next()
			if err != nil {
				break
			}
			if len(ev) > 64 {
				t.Fatalf("event of %d bytes over the 64-byte limit", len(ev))
			}
			_, _ = DecodeChunk(ev)
		}
	})
}

func TestFastChunk(t *testing.T) {
	token := `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":3,"text":" tok","logprobs":null,"finish_reason":null,"stop_reason":null,"prompt_token_ids":null,"token_ids":null}]}`
	c, _, ok := fastChunk([]byte(token), nil)
	if !ok || len(c.Choices) != 1 || c.Choices[0] != (ChoiceDelta{Index: 3, Text: " tok"}) {
		t.Fatalf("vLLM's token chunk: %+v, %v", c, ok)
	}
	ids := strings.Replace(token, `"prompt_token_ids":null,"token_ids":null`, `"prompt_token_ids":[5,6,0],"token_ids":[638,12]`, 1)
	if c, _, ok := fastChunk([]byte(ids), nil); !ok || c.Choices[0].TokenIDs != 2 {
		t.Errorf("chunk with token ids: %+v, %v", c, ok)
	}
	last := strings.Replace(token, `"finish_reason":null`, `"finish_reason":"length"`, 1)
	if c, _, ok := fastChunk([]byte(last), nil); !ok || c.Choices[0].FinishReason != "length" {
		t.Errorf("last token chunk: %+v, %v", c, ok)
	}
	// Anything else goes the full way.
	for _, other := range []string{
		strings.Replace(token, `" tok"`, `"\u00e9"`, 1),                           // an escape
		strings.Replace(token, `"model":"m"`, `"model":`, 1),                      // broken head
		strings.Replace(token, `"stop_reason":null`, `"stop_reason":7`, 1),        // stop reason
		strings.Replace(token, `"model":"m"`, `"model":"m","usage":null`, 1),      // usage key
		strings.Replace(token, `"index":3`, `"index":03`, 1),                      // not JSON
		`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}`,        // usage only
		`{"error":{"message":"x","type":"T","code":500},"choices":[{"index":0}]}`, // error
	} {
		if _, _, ok := fastChunk([]byte(other), nil); ok {
			t.Errorf("fast path took %s", other)
		}
	}
}

// TestChunkDecoderHead checks that a stream's decoder trusts a head it has
// checked, and only that head.
func TestChunkDecoderHead(t *testing.T) {
	head := `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m"`
	token := head + `,"choices":[{"index":0,"text":" tok","logprobs":null,"finish_reason":null,"stop_reason":null,"prompt_token_ids":null,"token_ids":null}]}`
	var d chunkDecoder
	if _, err := d.decode([]byte(token)); err != nil || string(d.head) != head {
		t.Fatalf("first chunk: head %q, err %v", d.head, err)
	}
	if _, seen, ok := fastChunk([]byte(token), d.head); !ok || seen != nil {
		t.Errorf("the same head checked again (%q, %v)", seen, ok)
	}
	// A different head is checked, and refused when it is not vLLM's.
	usage := strings.Replace(token, `"model":"m"`, `"model":"m","usage":null`, 1)
	if _, _, ok := fastChunk([]byte(usage), d.head); ok {
		t.Errorf("fast path took a new head with a usage key")
	}
	c, err := d.decode([]byte(usage))
	if err != nil || len(c.Choices) != 1 || string(d.head) != head {
		t.Errorf("usage chunk: %+v, %v, head now %q", c, err, d.head)
	}
}

// FuzzFastChunk checks that the fast path, where it decodes, agrees with the
// full decoder.
func FuzzFastChunk(f *testing.F) {
	f.Add(`{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":" tok","logprobs":null,"finish_reason":null,"stop_reason":null,"prompt_token_ids":null,"token_ids":null}]}`)
	f.Add(`{"choices":[{"index":12,"text":"","logprobs":null,"finish_reason":"stop","stop_reason":null,"prompt_token_ids":null,"token_ids":null}]}`)
	f.Add(`{"id":"c","object":"text_completion","choices":[{"index":0,"text":"a","logprobs":null,"finish_reason":null,"stop_reason":null,"prompt_token_ids":[1,2],"token_ids":[0]}]}`)
	// A head the stream's decoder has already checked.
	seen := []byte(`{"id":"cmpl-1","object":"text_completion","created":1,"model":"m"`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, known := range [][]byte{nil, seen} {
			fast, _, ok := fastChunk([]byte(s), known)
			if !ok {
				continue
			}
			full, err := decodeChunk([]byte(s))
			if err != nil {
				t.Fatalf("fast path decoded what the full decoder rejects (%v): %s", err, s)
			}
			if fmt.Sprintf("%+v", fast) != fmt.Sprintf("%+v", full) {
				t.Fatalf("fast %+v, full %+v for %s", fast, full, s)
			}
		}
	})
}
