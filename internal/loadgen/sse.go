package loadgen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultMaxEvent bounds the size of one event (its longest line and its
// joined data), so a misbehaving server cannot make a request hold unbounded
// memory.
const DefaultMaxEvent = 4 << 20

// ErrEventTooLarge is returned by EventReader.Next for a line or an event
// larger than its limit.
var ErrEventTooLarge = errors.New("server-sent event too large")

// EventReader reads server-sent events as the WHATWG EventSource format
// defines them: lines end in "\n", "\r\n" or "\r"; a line starting with ':'
// is a comment; "data:" lines (one leading space after the colon dropped)
// accumulate, joined by "\n"; an empty line ends the event. Other fields
// (event, id, retry) are ignored, and an event without data is not
// returned. Unlike the specification, an event cut off by the end of the
// stream is still returned, the way vLLM's own client accepts a final
// "data: [DONE]" without its blank line. A lone "\r" is only seen once a
// "\n" (or the end of the stream) follows it, which no server sending
// "\n" or "\r\n" notices.
type EventReader struct {
	r       *bufio.Reader
	max     int
	long    []byte // a line longer than r's buffer, assembled
	rest    []byte // the lines of the current read not yet taken
	hasRest bool
	started bool
	data    []byte
	hasData bool
}

// NewEventReader reads events from r, each at most DefaultMaxEvent bytes.
func NewEventReader(r io.Reader) *EventReader {
	return &EventReader{r: bufio.NewReaderSize(r, 16<<10), max: DefaultMaxEvent}
}

// Reset makes e read a new stream from r, keeping its buffers: a client
// reads thousands of streams, and a fresh 16 KiB buffer each is garbage.
func (e *EventReader) Reset(r io.Reader) {
	e.r.Reset(r)
	*e = EventReader{r: e.r, max: e.max, long: e.long[:0], data: e.data[:0]}
}

// Next returns the data of the next event. The slice is valid until the next
// call. At the end of the stream it returns io.EOF; any other error is the
// reader's or ErrEventTooLarge.
func (e *EventReader) Next() ([]byte, error) {
	if !e.hasData {
		e.data = e.data[:0]
	}
	for {
		line, err := e.line()
		if err != nil {
			if err == io.EOF && e.hasData {
				return e.dispatch(), nil
			}
			return nil, err
		}
		if len(line) == 0 {
			if e.hasData {
				return e.dispatch(), nil
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if string(field) != "data" {
			continue
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if len(e.data)+len(value)+1 > e.max {
			return nil, ErrEventTooLarge
		}
		if e.hasData {
			e.data = append(e.data, '\n')
		}
		e.data = append(e.data, value...)
		e.hasData = true
	}
}

func (e *EventReader) dispatch() []byte {
	e.hasData = false
	return e.data
}

// line returns the next line without its terminator.
func (e *EventReader) line() ([]byte, error) {
	if e.hasRest {
		i := bytes.IndexByte(e.rest, '\r')
		if i < 0 {
			e.hasRest = false
			return e.rest, nil
		}
		line := e.rest[:i]
		e.rest = e.rest[i+1:]
		return line, nil
	}
	seg, err := e.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		e.long = append(e.long[:0], seg...)
		for err == bufio.ErrBufferFull {
			if len(e.long) > e.max {
				return nil, ErrEventTooLarge
			}
			seg, err = e.r.ReadSlice('\n')
			e.long = append(e.long, seg...)
		}
		seg = e.long
	}
	if len(seg) > e.max {
		return nil, ErrEventTooLarge
	}
	if err != nil && (err != io.EOF || len(seg) == 0) {
		return nil, err
	}
	if !e.started {
		e.started = true
		seg = bytes.TrimPrefix(seg, []byte("\xef\xbb\xbf"))
	}
	seg = bytes.TrimSuffix(seg, []byte("\n"))
	seg = bytes.TrimSuffix(seg, []byte("\r"))
	e.rest, e.hasRest = seg, true
	return e.line()
}

// Chunk is what one event of a /v1/completions stream says.
type Chunk struct {
	// Done is set by "data: [DONE]", the end of the stream.
	Done    bool
	Choices []ChoiceDelta
	// Usage is the server's token count, set when the event carries usage
	// with a completion_tokens number (vLLM sends it once, in a final chunk
	// with no choices, when stream_options.include_usage is set).
	Usage *Usage
	// Error describes an error payload; empty when there is none.
	Error string
}

// ChoiceDelta is one choice's part of a chunk.
type ChoiceDelta struct {
	Index int
	Text  string
	// TokenIDs is how many ids the choice's token_ids field lists (vLLM
	// sends them with "return_token_ids": true; null otherwise).
	TokenIDs     int
	FinishReason string
}

// Tokens is how many output tokens the delta carries as far as the stream
// can tell: the number of token ids when the server lists them, otherwise
// one for a delta with text and none for one without.
func (c ChoiceDelta) Tokens() int {
	if c.TokenIDs > 0 {
		return c.TokenIDs
	}
	if c.Text != "" {
		return 1
	}
	return 0
}

// Usage is a response's token count as the server reports it.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

type wireChunk struct {
	Object  string          `json:"object"`
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Error   json.RawMessage `json:"error"`
	Choices []struct {
		Index        int     `json:"index"`
		Text         string  `json:"text"`
		FinishReason *string `json:"finish_reason"`
		TokenIDs     []int   `json:"token_ids"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     *int `json:"prompt_tokens"`
		CompletionTokens *int `json:"completion_tokens"`
	} `json:"usage"`
}

type wireError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

// DecodeChunk decodes one event's data. It understands vLLM's chunks, its
// usage-only final chunk, "[DONE]", and both error shapes vLLM has used:
// {"error": {"message", "type", "code"}} and {"object": "error", "message"}.
func DecodeChunk(data []byte) (Chunk, error) {
	var d chunkDecoder
	return d.decode(data)
}

// chunkDecoder decodes the events of one stream. vLLM repeats the same head
// (id, object, created, model) in every chunk of a stream, so the fast path
// checks it once per stream rather than once per token.
type chunkDecoder struct {
	head []byte // the last head fastChunk accepted
}

func (d *chunkDecoder) decode(data []byte) (Chunk, error) {
	data = bytes.TrimSpace(data)
	if string(data) == "[DONE]" {
		return Chunk{Done: true}, nil
	}
	if c, head, ok := fastChunk(data, d.head); ok {
		if len(head) > 0 {
			d.head = append(d.head[:0], head...)
		}
		return c, nil
	}
	return decodeChunk(data)
}

// decodeChunk is DecodeChunk for any JSON event.
func decodeChunk(data []byte) (Chunk, error) {
	var w wireChunk
	if err := json.Unmarshal(data, &w); err != nil {
		return Chunk{}, fmt.Errorf("decoding event %q: %w", clip(data, 80), err)
	}
	c := Chunk{Error: describeError(w)}
	if len(w.Choices) > 0 {
		c.Choices = make([]ChoiceDelta, len(w.Choices))
		for i, ch := range w.Choices {
			c.Choices[i] = ChoiceDelta{Index: ch.Index, Text: ch.Text, TokenIDs: len(ch.TokenIDs)}
			if ch.FinishReason != nil {
				c.Choices[i].FinishReason = *ch.FinishReason
			}
		}
	}
	if u := w.Usage; u != nil && u.CompletionTokens != nil {
		c.Usage = &Usage{CompletionTokens: *u.CompletionTokens}
		if u.PromptTokens != nil {
			c.Usage.PromptTokens = *u.PromptTokens
		}
	}
	return c, nil
}

// The pieces of the chunk vLLM sends for every token of a stream, in the
// order and spelling it writes them.
var (
	fastChoices = []byte(`,"choices":[{"index":`)
	fastText    = []byte(`,"text":"`)
	fastFinish  = []byte(`,"logprobs":null,"finish_reason":`)
	fastPrompt  = []byte(`,"stop_reason":null,"prompt_token_ids":`)
	fastIDs     = []byte(`,"token_ids":`)
	fastEnd     = []byte(`}]}`)
)

// fastChunk decodes vLLM's per-token chunk, the bulk of every stream,
// without reflection: decoding must cost the client far less than the
// server's token takes. ok is false for anything that is not exactly that
// shape (escapes in strings, several choices, usage, errors, other
// spacing), which decodeChunk then decodes in full; where ok is true the
// Chunk is the one decodeChunk would return (FuzzFastChunk checks). A head
// equal to seen, one fastChunk accepted before, is not checked again; head
// is returned when it was checked, for the caller to pass as seen next.
func fastChunk(data, seen []byte) (c Chunk, head []byte, ok bool) {
	i := bytes.Index(data, fastChoices)
	if i < 0 {
		return Chunk{}, nil, false
	}
	head, rest := data[:i], data[i+len(fastChoices):]
	if len(seen) > 0 && bytes.Equal(head, seen) {
		head = nil
	} else if !fastHead(head) {
		return Chunk{}, nil, false
	}
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits == 0 || digits > 6 || (rest[0] == '0' && digits > 1) {
		return Chunk{}, nil, false
	}
	index, _ := strconv.Atoi(string(rest[:digits]))
	rest = rest[digits:]
	text, rest, ok := fastString(rest, fastText)
	if !ok || !bytes.HasPrefix(rest, fastFinish) {
		return Chunk{}, nil, false
	}
	rest = rest[len(fastFinish):]
	var finish []byte
	if bytes.HasPrefix(rest, []byte("null")) {
		rest = rest[len("null"):]
	} else if finish, rest, ok = fastString(rest, []byte(`"`)); !ok {
		return Chunk{}, nil, false
	}
	if !bytes.HasPrefix(rest, fastPrompt) {
		return Chunk{}, nil, false
	}
	if _, rest, ok = fastInts(rest[len(fastPrompt):]); !ok || !bytes.HasPrefix(rest, fastIDs) {
		return Chunk{}, nil, false
	}
	ids, rest, ok := fastInts(rest[len(fastIDs):])
	if !ok || !bytes.Equal(rest, fastEnd) {
		return Chunk{}, nil, false
	}
	return Chunk{Choices: []ChoiceDelta{{Index: index, Text: string(text), TokenIDs: ids, FinishReason: string(finish)}}}, head, true
}

// fastHead reports whether head, the part of data before its choices, is
// one the full decoder would read the same way as vLLM's: no keys it would
// act on (another "choices" among them: what follows the head cannot hold
// one, its strings having no escapes) and JSON that a further member can
// follow.
func fastHead(head []byte) bool {
	// The full decoder reads these keys (matching them in any case); in the
	// head they would change its answer, except vLLM's own "object".
	var lowerBuf [256]byte
	lower, ascii := asciiLower(lowerBuf[:0], head)
	if !ascii {
		return false // encoding/json folds some non-ASCII letters into keys
	}
	for _, k := range []string{`"usage"`, `"error"`, `"message"`, `"type"`, `"choices"`} {
		if bytes.Contains(lower, []byte(k)) {
			return false
		}
	}
	if bytes.Count(lower, []byte(`"object"`)) != bytes.Count(head, []byte(`"object":"text_completion"`)) {
		return false
	}
	// The fields before the choices are not used, but must be JSON that a
	// further member can follow.
	var buf [256]byte
	return json.Valid(append(append(buf[:0], head...), `,"k":0}`...))
}

// fastInts reads null or a list of non-negative integers written without
// spaces, returning how many it holds and what follows.
func fastInts(b []byte) (n int, rest []byte, ok bool) {
	if bytes.HasPrefix(b, []byte("null")) {
		return 0, b[len("null"):], true
	}
	if len(b) < 2 || b[0] != '[' {
		return 0, nil, false
	}
	if b[1] == ']' {
		return 0, b[2:], true
	}
	i := 1
	for {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		// Within int range, and no leading zero: what json.Unmarshal takes.
		if i == start || i-start > 18 || (b[start] == '0' && i-start > 1) || i == len(b) {
			return 0, nil, false
		}
		n++
		switch b[i] {
		case ',':
			i++
		case ']':
			return n, b[i+1:], true
		default:
			return 0, nil, false
		}
	}
}

// asciiLower appends b with ASCII letters lowered to dst, which a caller
// gives room on its stack (this runs for every token); ascii is false when b
// holds any other byte.
func asciiLower(dst, b []byte) (lower []byte, ascii bool) {
	for _, c := range b {
		if c >= 0x80 {
			return nil, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}

// fastString reads a JSON string that opens with prefix and needs no
// unescaping, returning it and what follows its closing quote.
func fastString(b, prefix []byte) (s, rest []byte, ok bool) {
	if !bytes.HasPrefix(b, prefix) {
		return nil, nil, false
	}
	b = b[len(prefix):]
	end := bytes.IndexByte(b, '"')
	if end < 0 {
		return nil, nil, false
	}
	s = b[:end]
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return nil, nil, false
		}
	}
	if !utf8.Valid(s) {
		return nil, nil, false
	}
	return s, b[end+1:], true
}

func describeError(w wireChunk) string {
	if w.Object == "error" {
		return joinError(w.Type, w.Message, nil)
	}
	raw := bytes.TrimSpace(w.Error)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var e wireError
	if json.Unmarshal(raw, &e) == nil && (e.Message != "" || e.Type != "") {
		return joinError(e.Type, e.Message, e.Code)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return s
	}
	return clip(raw, 200)
}

func joinError(typ, msg string, code json.RawMessage) string {
	var b strings.Builder
	if typ != "" {
		b.WriteString(typ)
		b.WriteString(": ")
	}
	if msg == "" {
		msg = "(no message)"
	}
	b.WriteString(msg)
	if c := strings.Trim(string(bytes.TrimSpace(code)), `"`); c != "" && c != "null" {
		b.WriteString(" (code ")
		b.WriteString(c)
		b.WriteString(")")
	}
	return b.String()
}

// clip returns b as a string of at most n bytes, marked when cut.
func clip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
