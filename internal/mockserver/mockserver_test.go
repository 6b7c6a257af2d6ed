package mockserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

var created = regexp.MustCompile(`"created":\d+`)

// TestStreamMatchesVLLM compares the stream byte for byte with what vLLM
// 0.32 sends: the lines below are what its pydantic models serialize
// (CompletionStreamResponse.model_dump_json(exclude_unset=True) for a
// token, exclude_unset=False and exclude_none=True for the usage chunk),
// checked against the installed vllm with only id and created varying.
func TestStreamMatchesVLLM(t *testing.T) {
	srv := httptest.NewServer(New(Options{Model: "m"}))
	defer srv.Close()
	status, got := post(t, srv.URL, `{"model":"m","prompt":[1,2,3],"max_tokens":2,"stream":true,"stream_options":{"include_usage":true},"ignore_eos":true}`)
	want := `data: {"id":"cmpl-1","object":"text_completion","created":0,"model":"m","choices":[{"index":0,"text":" tok","logprobs":null,"finish_reason":null,"stop_reason":null,"prompt_token_ids":null,"token_ids":null}]}

data: {"id":"cmpl-1","object":"text_completion","created":0,"model":"m","choices":[{"index":0,"text":" tok","logprobs":null,"finish_reason":"length","stop_reason":null,"prompt_token_ids":null,"token_ids":null}]}

data: {"id":"cmpl-1","object":"text_completion","created":0,"model":"m","choices":[],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2}}

data: [DONE]

`
	if got = created.ReplaceAllString(got, `"created":0`); status != 200 || got != want {
		t.Errorf("status %d, stream\n%s\nwant\n%s", status, got, want)
	}
}

type chunk struct {
	Choices []struct {
		Index          int     `json:"index"`
		Text           string  `json:"text"`
		FinishReason   *string `json:"finish_reason"`
		TokenIDs       []int   `json:"token_ids"`
		PromptTokenIDs []int   `json:"prompt_token_ids"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

// parse splits a stream into its chunks, checking that it ends in [DONE].
func parse(t *testing.T, stream string) []chunk {
	t.Helper()
	var out []chunk
	sc := bufio.NewScanner(strings.NewReader(stream))
	done := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || done {
			t.Fatalf("unexpected line %q", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var c chunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		out = append(out, c)
	}
	if !done {
		t.Fatal("no [DONE]")
	}
	return out
}

func TestStreamN(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	_, stream := post(t, srv.URL, `{"prompt":[5,6],"max_tokens":3,"n":2,"stream":true,"stream_options":{"include_usage":true},"return_token_ids":true}`)
	chunks := parse(t, stream)
	if len(chunks) != 7 {
		t.Fatalf("%d chunks, want 6 tokens and a usage chunk", len(chunks))
	}
	for k, c := range chunks[:6] {
		ch := c.Choices
		if len(ch) != 1 || ch[0].Index != k%2 || ch[0].Text != Text || len(ch[0].TokenIDs) != 1 || c.Usage != nil ||
			(ch[0].FinishReason != nil) != (k >= 4) || (ch[0].PromptTokenIDs != nil) != (k < 2) {
			t.Errorf("chunk %d: %+v", k, c)
		}
	}
	if u := chunks[6]; len(u.Choices) != 0 || u.Usage == nil || u.Usage.CompletionTokens != 6 || u.Usage.PromptTokens != 2 || u.Usage.TotalTokens != 8 {
		t.Errorf("usage chunk %+v", u)
	}
}

func TestIgnoreEOSAndDefaults(t *testing.T) {
	srv := httptest.NewServer(New(Options{EOSAfter: 2}))
	defer srv.Close()
	for _, tc := range []struct {
		body   string
		tokens int
		finish string
	}{
		{`{"prompt":"hello there","max_tokens":5,"stream":true}`, 2, "stop"},
		{`{"prompt":"hello there","max_tokens":5,"stream":true,"ignore_eos":true}`, 5, "length"},
		{`{"prompt":"hello there","max_tokens":1,"stream":true}`, 1, "length"},
		{`{"prompt":"hello there","stream":true,"ignore_eos":true}`, 16, "length"},
	} {
		_, stream := post(t, srv.URL, tc.body)
		chunks := parse(t, stream)
		last := chunks[len(chunks)-1].Choices[0].FinishReason
		if len(chunks) != tc.tokens || last == nil || *last != tc.finish {
			t.Errorf("%s: %d chunks, finish %v; want %d, %q", tc.body, len(chunks), last, tc.tokens, tc.finish)
		}
	}
}

func TestNonStreaming(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	status, body := post(t, srv.URL, `{"model":"x","prompt":[1,2,3,4],"max_tokens":3,"n":2}`)
	// The fields vLLM 0.32's CompletionResponse.model_dump() has, in order.
	keys := regexp.MustCompile(`^\{"id":"cmpl-1","object":"text_completion","created":\d+,"model":"x","choices":\[\{"index":0,"text":" tok tok tok","logprobs":null,"finish_reason":"length","stop_reason":null,"token_ids":null,"prompt_logprobs":null,"prompt_token_ids":null,"routed_experts":null\},.*\],"service_tier":null,"system_fingerprint":null,"usage":\{"prompt_tokens":4,"total_tokens":10,"completion_tokens":6,"prompt_tokens_details":null,"completion_tokens_details":null\},"kv_transfer_params":null,"ec_transfer_params":null,"metrics":null\}$`)
	if !keys.MatchString(body) {
		t.Errorf("response is not shaped like vLLM's:\n%s", body)
	}
	var resp struct {
		Object  string
		Model   string
		Choices []struct {
			Index        int
			Text         string
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		}
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || status != 200 {
		t.Fatalf("status %d, %v: %s", status, err, body)
	}
	if resp.Object != "text_completion" || resp.Model != "x" || len(resp.Choices) != 2 || resp.Choices[1].Index != 1 ||
		resp.Choices[0].Text != " tok tok tok" || resp.Choices[0].FinishReason != "length" ||
		resp.Usage.PromptTokens != 4 || resp.Usage.CompletionTokens != 6 || resp.Usage.TotalTokens != 10 {
		t.Errorf("response %+v", resp)
	}
}

func TestErrors(t *testing.T) {
	srv := httptest.NewServer(New(Options{Model: "m"}))
	defer srv.Close()
	for _, tc := range []struct {
		body, typ, msg string
		status         int
	}{
		{`{"prompt":`, "BadRequestError", "invalid JSON body: unexpected EOF", 400},
		{`{"model":"big","prompt":[1]}`, "NotFoundError", "The model `big` does not exist.", 404},
		{`{"prompt":[1],"n":0}`, "BadRequestError", "n must be at least 1, got 0.", 400},
		{`{"prompt":[1],"max_tokens":0}`, "BadRequestError", "max_tokens must be at least 1, got 0.", 400},
		{`{"prompt":[1],"stream_options":{"include_usage":true}}`, "BadRequestError", "Stream options can only be defined when `stream=True`.", 400},
		{`{"prompt":[]}`, "BadRequestError", "prompt must be one non-empty string or list of token ids (the mock server takes one prompt per request)", 400},
		{`{"prompt":[[1,2]]}`, "BadRequestError", "prompt must be one non-empty string or list of token ids (the mock server takes one prompt per request)", 400},
	} {
		status, body := post(t, srv.URL, tc.body)
		want := fmt.Sprintf(`{"error":{"message":%q,"type":%q,"param":null,"code":%d}}`, tc.msg, tc.typ, tc.status)
		if status != tc.status || body != want {
			t.Errorf("%s: %d %s\nwant %d %s", tc.body, status, body, tc.status, want)
		}
	}
}

func TestHealthAndModels(t *testing.T) {
	s := New(Options{Model: "m", MaxModelLen: 768})
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var models struct {
		Object string
		Data   []struct {
			ID          string
			Object      string
			MaxModelLen int `json:"max_model_len"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&models); err != nil || models.Object != "list" || len(models.Data) != 1 ||
		models.Data[0].ID != "m" || models.Data[0].Object != "model" || models.Data[0].MaxModelLen != 768 {
		t.Errorf("models %+v, %v", models, err)
	}
	if st := s.Stats(); st.Requests != 0 {
		t.Errorf("health and models counted as completions: %+v", st)
	}
}

func TestPacingCanBeInterrupted(t *testing.T) {
	s := New(Options{TTFT: time.Hour})
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/completions", strings.NewReader(`{"prompt":[1],"stream":true}`))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		errc <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); s.Stats().InFlight != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("request never arrived")
		}
	}
	cancel()
	if err := <-errc; err == nil {
		t.Error("an hour's TTFT finished")
	}
	// The handler notices the client is gone and returns.
	for deadline := time.Now().Add(30 * time.Second); s.Stats().InFlight != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("handler still waiting after the client left")
		}
	}
	if st := s.Stats(); st.Requests != 1 || st.MaxInFlight != 1 || st.Tokens != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- New(Options{}).Serve(ctx, addr) }()
	var resp *http.Response
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if resp, err = http.Get("http://" + addr + "/health"); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Serve returned %v after its context ended", err)
	}
	if err := New(Options{}).Serve(context.Background(), "256.0.0.1:0"); err == nil {
		t.Error("Serve on a bad address returned nil")
	}
}
