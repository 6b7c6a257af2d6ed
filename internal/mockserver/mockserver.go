// Package mockserver is an OpenAI-compatible completions server that answers
// at once (or at a set pace) with dummy tokens, in the exact shape vLLM's
// `vllm serve` streams them. It exists to calibrate rollbench's client: what
// the client measures against it is the client's own cost. It is never a
// stand-in for vLLM in a test that claims to test vLLM.
package mockserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Options shape the server's answers. The zero value answers as fast as
// possible, 16 tokens when a request gives no max_tokens.
type Options struct {
	// Model is the name /v1/models lists; a request naming another model
	// gets vLLM's 404. Empty accepts any name and lists "mock".
	Model string
	// TokensPerSecond paces each request's decode: one step (a token of each
	// of its n choices) every 1/TokensPerSecond. 0 sends as fast as possible.
	TokensPerSecond float64
	// TTFT is the wait before a request's first token.
	TTFT time.Duration
	// OutputLen is the output length when a request gives no max_tokens
	// (default 16, vLLM's default for completions).
	OutputLen int
	// EOSAfter makes a request without ignore_eos end with finish_reason
	// "stop" after this many tokens when max_tokens allows more; 0 never
	// stops early. With ignore_eos every choice runs to max_tokens.
	EOSAfter int
	// MaxModelLen is reported by /v1/models (default 4096).
	MaxModelLen int
}

// Text is the text of every token the server sends.
const Text = " tok"

// Stats counts what the server has seen.
type Stats struct {
	// Requests counts completion requests, answered or not.
	Requests int64
	// InFlight is the number of completion requests being answered now;
	// MaxInFlight the largest it has been.
	InFlight    int64
	MaxInFlight int64
	// Tokens counts the output tokens sent, over all choices.
	Tokens int64
}

// Server is the mock server; it is an http.Handler.
type Server struct {
	opts      Options
	model     string
	mux       *http.ServeMux
	ids       atomic.Uint64
	requests  atomic.Int64
	inFlight  atomic.Int64
	maxFlight atomic.Int64
	tokens    atomic.Int64
}

// New returns a server; mount it with httptest.NewServer or run Serve.
// Endpoints: POST /v1/completions (streaming and not), GET /health,
// GET /v1/models.
func New(opts Options) *Server {
	if opts.OutputLen <= 0 {
		opts.OutputLen = 16
	}
	if opts.MaxModelLen <= 0 {
		opts.MaxModelLen = 4096
	}
	s := &Server{opts: opts, model: opts.Model, mux: http.NewServeMux()}
	if s.model == "" {
		s.model = "mock"
	}
	s.mux.HandleFunc("POST /v1/completions", s.completions)
	s.mux.HandleFunc("GET /health", func(http.ResponseWriter, *http.Request) {})
	s.mux.HandleFunc("GET /v1/models", s.models)
	return s
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	return Stats{Requests: s.requests.Load(), InFlight: s.inFlight.Load(), MaxInFlight: s.maxFlight.Load(), Tokens: s.tokens.Load()}
}

// Serve listens on addr (such as "127.0.0.1:8000") and serves until ctx
// ends, then shuts down, letting requests in flight finish for up to 5 s.
func (s *Server) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type completionRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	MaxTokens     *int            `json:"max_tokens"`
	N             *int            `json:"n"`
	IgnoreEOS     bool            `json:"ignore_eos"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	ReturnTokenIDs bool `json:"return_token_ids"`
}

// plan is what the server will answer to one request.
type plan struct {
	id, model      string
	created        int64
	prompt         []int // nil for a text prompt
	promptTokens   int
	n, length      int
	finish         string
	usage, tokenID bool
}

// enter counts a request in flight and keeps the largest count.
func (s *Server) enter() {
	cur := s.inFlight.Add(1)
	for {
		m := s.maxFlight.Load()
		if cur <= m || s.maxFlight.CompareAndSwap(m, cur) {
			return
		}
	}
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.enter()
	defer s.inFlight.Add(-1)

	var req completionRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestError", "invalid JSON body: "+err.Error())
		return
	}
	p, status, msg := s.plan(req)
	if status != http.StatusOK {
		typ := "BadRequestError"
		if status == http.StatusNotFound {
			typ = "NotFoundError"
		}
		writeError(w, status, typ, msg)
		return
	}
	if !req.Stream {
		s.respond(r.Context(), w, p)
		return
	}
	s.stream(r.Context(), w, p)
}

// plan validates a request the way vLLM does for the fields the mock
// honors, and decides the answer.
func (s *Server) plan(req completionRequest) (plan, int, string) {
	p := plan{
		id:      "cmpl-" + strconv.FormatUint(s.ids.Add(1), 16),
		model:   s.model,
		created: time.Now().Unix(),
		n:       1,
		length:  s.opts.OutputLen,
		finish:  "length",
		tokenID: req.ReturnTokenIDs,
		usage:   req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
	}
	if req.Model != "" {
		if s.opts.Model != "" && req.Model != s.opts.Model {
			return p, http.StatusNotFound, fmt.Sprintf("The model `%s` does not exist.", req.Model)
		}
		p.model = req.Model
	}
	if req.StreamOptions != nil && !req.Stream {
		return p, http.StatusBadRequest, "Stream options can only be defined when `stream=True`."
	}
	if req.N != nil {
		p.n = *req.N
	}
	if p.n < 1 {
		return p, http.StatusBadRequest, fmt.Sprintf("n must be at least 1, got %d.", p.n)
	}
	if req.MaxTokens != nil {
		p.length = *req.MaxTokens
	}
	if p.length < 1 {
		return p, http.StatusBadRequest, fmt.Sprintf("max_tokens must be at least 1, got %d.", p.length)
	}
	if !req.IgnoreEOS && s.opts.EOSAfter > 0 && s.opts.EOSAfter < p.length {
		p.length, p.finish = s.opts.EOSAfter, "stop"
	}
	var text string
	switch {
	case json.Unmarshal(req.Prompt, &p.prompt) == nil && len(p.prompt) > 0:
		p.promptTokens = len(p.prompt)
	case json.Unmarshal(req.Prompt, &text) == nil && text != "":
		p.prompt = nil
		p.promptTokens = max(1, len(strings.Fields(text)))
	default:
		return p, http.StatusBadRequest, "prompt must be one non-empty string or list of token ids (the mock server takes one prompt per request)"
	}
	return p, http.StatusOK, ""
}

// stream sends the answer as vLLM does: a chunk per choice per decode step,
// then a usage-only chunk when asked, then [DONE].
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, p plan) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	pace := newPacer(s.opts.TTFT, s.opts.TokensPerSecond)
	defer pace.stop()

	// Unpaced, the whole answer goes out in one write rather than one per
	// token: the server's own cost must stay far below the client's it is
	// there to measure.
	instant := s.opts.TTFT == 0 && s.opts.TokensPerSecond == 0
	head := p.chunkHead()
	buf := make([]byte, 0, 512)
	for k := range p.length {
		if !pace.wait(ctx, k) {
			return
		}
		if !instant {
			buf = buf[:0]
		}
		for i := range p.n {
			buf = p.appendChunk(buf, head, i, k)
		}
		s.tokens.Add(int64(p.n))
		if instant {
			continue
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
	if !instant {
		buf = buf[:0]
	}
	if p.usage {
		buf = append(buf, head...)
		buf = append(buf, `[],"usage":`...)
		buf = p.appendUsage(buf)
		buf = append(buf, "}\n\n"...)
	}
	buf = append(buf, "data: [DONE]\n\n"...)
	// An instant answer is flushed with the end of the response, one write
	// less.
	if _, err := w.Write(buf); err == nil && !instant {
		_ = rc.Flush()
	}
}

// chunkHead is every chunk's start, up to the choices list.
func (p plan) chunkHead() []byte {
	b := []byte(`data: {"id":`)
	b = strconv.AppendQuote(b, p.id)
	b = append(b, `,"object":"text_completion","created":`...)
	b = strconv.AppendInt(b, p.created, 10)
	b = append(b, `,"model":`...)
	model, _ := json.Marshal(p.model)
	b = append(b, model...)
	return append(b, `,"choices":`...)
}

// appendChunk appends the chunk with token k of choice i, byte for byte as
// vLLM serializes it (pydantic, exclude_unset: no usage key at all).
func (p plan) appendChunk(b, head []byte, i, k int) []byte {
	b = append(b, head...)
	b = append(b, `[{"index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"text":"`+Text+`","logprobs":null,"finish_reason":`...)
	if k == p.length-1 {
		b = strconv.AppendQuote(b, p.finish)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"stop_reason":null,"prompt_token_ids":`...)
	if p.tokenID && k == 0 && p.prompt != nil {
		b = appendInts(b, p.prompt)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"token_ids":`...)
	if p.tokenID {
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(tokenID(k)), 10)
		b = append(b, ']')
	} else {
		b = append(b, "null"...)
	}
	return append(b, "}]}\n\n"...)
}

func (p plan) appendUsage(b []byte) []byte {
	out := p.n * p.length
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(p.promptTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(p.promptTokens+out), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(out), 10)
	return append(b, '}')
}

func appendInts(b []byte, xs []int) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return append(b, ']')
}

// tokenID is the id of the k-th output token: any fixed, valid-looking id.
func tokenID(k int) int { return 100 + k%1000 }

// respond sends the whole answer as one JSON object, as vLLM does without
// "stream": true (pydantic's model_dump: every field, nulls included).
func (s *Server) respond(ctx context.Context, w http.ResponseWriter, p plan) {
	pace := newPacer(s.opts.TTFT, s.opts.TokensPerSecond)
	defer pace.stop()
	for k := range p.length {
		if !pace.wait(ctx, k) {
			return
		}
	}
	type choice struct {
		Index          int    `json:"index"`
		Text           string `json:"text"`
		Logprobs       any    `json:"logprobs"`
		FinishReason   string `json:"finish_reason"`
		StopReason     any    `json:"stop_reason"`
		TokenIDs       []int  `json:"token_ids"`
		PromptLogprobs any    `json:"prompt_logprobs"`
		PromptTokenIDs []int  `json:"prompt_token_ids"`
		RoutedExperts  any    `json:"routed_experts"`
	}
	var ids []int
	if p.tokenID {
		ids = make([]int, p.length)
		for k := range ids {
			ids[k] = tokenID(k)
		}
	}
	choices := make([]choice, p.n)
	for i := range choices {
		choices[i] = choice{Index: i, Text: strings.Repeat(Text, p.length), FinishReason: p.finish, TokenIDs: ids}
		if p.tokenID {
			choices[i].PromptTokenIDs = p.prompt
		}
	}
	out := p.n * p.length
	type usage struct {
		PromptTokens            int `json:"prompt_tokens"`
		TotalTokens             int `json:"total_tokens"`
		CompletionTokens        int `json:"completion_tokens"`
		PromptTokensDetails     any `json:"prompt_tokens_details"`
		CompletionTokensDetails any `json:"completion_tokens_details"`
	}
	resp := struct {
		ID                string   `json:"id"`
		Object            string   `json:"object"`
		Created           int64    `json:"created"`
		Model             string   `json:"model"`
		Choices           []choice `json:"choices"`
		ServiceTier       any      `json:"service_tier"`
		SystemFingerprint any      `json:"system_fingerprint"`
		Usage             usage    `json:"usage"`
		KVTransferParams  any      `json:"kv_transfer_params"`
		ECTransferParams  any      `json:"ec_transfer_params"`
		Metrics           any      `json:"metrics"`
	}{
		ID: p.id, Object: "text_completion", Created: p.created, Model: p.model, Choices: choices,
		Usage: usage{PromptTokens: p.promptTokens, TotalTokens: p.promptTokens + out, CompletionTokens: out},
	}
	s.tokens.Add(int64(out))
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []map[string]any{{
			"id": s.model, "object": "model", "created": time.Now().Unix(), "owned_by": "vllm",
			"root": s.model, "parent": nil, "max_model_len": s.opts.MaxModelLen, "permission": []any{},
		}},
	})
}

// writeError answers with vLLM's error object, its fields in vLLM's order.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	type info struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Param   any    `json:"param"`
		Code    int    `json:"code"`
	}
	writeJSON(w, status, struct {
		Error info `json:"error"`
	}{info{Message: msg, Type: typ, Code: status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// pacer waits for each token's time: TTFT before the first, then one step
// every 1/tps, against deadlines from the start so delays do not add up.
type pacer struct {
	start time.Time
	ttft  time.Duration
	step  time.Duration
	timer *time.Timer
}

func newPacer(ttft time.Duration, tps float64) *pacer {
	p := &pacer{start: time.Now(), ttft: ttft}
	if tps > 0 {
		p.step = time.Duration(float64(time.Second) / tps)
	}
	return p
}

// wait blocks until token k is due and reports false if ctx ended first.
func (p *pacer) wait(ctx context.Context, k int) bool {
	d := time.Until(p.start.Add(p.ttft + time.Duration(k)*p.step))
	if d <= 0 {
		return ctx.Err() == nil
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *pacer) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}
