package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rollbench/rollbench/internal/mockserver"
	"github.com/rollbench/rollbench/metrics"
)

// collect reads a run's results, failing the test if the run does not end
// within a minute (far beyond what any of these runs needs).
func collect(t *testing.T, ch <-chan metrics.RequestResult) []metrics.RequestResult {
	t.Helper()
	var all []metrics.RequestResult
	deadline := time.After(time.Minute)
	for {
		select {
		case r, ok := <-ch:
			if !ok {
				return all
			}
			all = append(all, r)
		case <-deadline:
			t.Fatalf("run did not end; %d results so far", len(all))
		}
	}
}

func prompts(lens ...int) [][]int {
	ps := make([][]int, len(lens))
	for i, n := range lens {
		for k := range n {
			ps[i] = append(ps[i], 10+k)
		}
	}
	return ps
}

func config(url string) Config {
	cfg := DefaultConfig()
	cfg.BaseURL, cfg.Model = url, "mock-model"
	cfg.Prompts, cfg.N, cfg.MaxTokens = prompts(4, 5, 6), 4, 5
	cfg.MaxConcurrency = 8
	return cfg
}

func mock(t *testing.T, opts mockserver.Options) (*mockserver.Server, *httptest.Server) {
	t.Helper()
	if opts.Model == "" {
		opts.Model = "mock-model"
	}
	m := mockserver.New(opts)
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv
}

func run(t *testing.T, cfg Config) []metrics.RequestResult {
	t.Helper()
	ch, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return collect(t, ch)
}

// checkSamples asserts that results hold each (prompt, sample) exactly once.
func checkSamples(t *testing.T, results []metrics.RequestResult, prompts, n int) {
	t.Helper()
	if len(results) != prompts*n {
		t.Fatalf("%d results, want %d x %d", len(results), prompts, n)
	}
	seen := map[[2]int]bool{}
	for _, r := range results {
		k := [2]int{r.Prompt, r.Sample}
		if seen[k] || r.Prompt < 0 || r.Prompt >= prompts || r.Sample < 0 || r.Sample >= n {
			t.Errorf("unexpected or repeated sample %v", k)
		}
		seen[k] = true
	}
}

func TestRunPerSample(t *testing.T) {
	m, srv := mock(t, mockserver.Options{})
	cfg := config(srv.URL)
	results := run(t, cfg)
	checkSamples(t, results, 3, 4)
	requests := map[int]bool{}
	for _, r := range results {
		requests[r.Request] = true
		if !r.OK() || r.Status != 200 || !r.Sent || !r.HasUsage || r.UsagePerRequest || r.TokenMismatch ||
			r.UsageOutputTokens != 5 || r.StreamOutputTokens != 5 || r.FinishReason != "length" ||
			len(r.ITLMs) != 4 || r.PromptTokens != 4+r.Prompt || r.E2ELMs < r.TTFTMs || r.TPOTMs < 0 || r.SentMs < r.ReadyMs {
			t.Errorf("result %+v", r)
		}
	}
	if len(requests) != 12 {
		t.Errorf("%d distinct requests, want 12", len(requests))
	}
	if st := m.Stats(); st.Requests != 12 || st.Tokens != 60 {
		t.Errorf("server saw %d requests and sent %d tokens, want 12 and 60", st.Requests, st.Tokens)
	}
	mt := metrics.ComputeOnline(results, cfg.MaxConcurrency)
	if mt.CompletedRequests != 12 || mt.FailedRequests != 0 || mt.OutputTokens != 60 || mt.StreamOutputTokens != 60 ||
		mt.InputTokens != 4*(4+5+6) || mt.TTFT.Count != 12 || mt.TPOT.Count != 12 || mt.ITL.Count != 48 || mt.DurationS <= 0 {
		t.Errorf("metrics %+v", mt)
	}
}

// TestRequestRate checks that a rate spreads the sends over time, none before
// its schedule, and that the schedule is the seed's.
func TestRequestRate(t *testing.T) {
	_, srv := mock(t, mockserver.Options{})
	cfg := config(srv.URL)
	cfg.Prompts, cfg.N = prompts(4, 4, 4, 4, 4, 4, 4, 4, 4, 4), 4 // 40 requests
	cfg.RequestRate, cfg.Seed = 200, 7
	results := run(t, cfg)
	checkSamples(t, results, 10, 4)
	scheduled := map[int]float64{}
	var last float64
	for _, r := range results {
		if !r.OK() || r.ScheduledMs <= 0 || r.SentMs < r.ScheduledMs || r.ReadyMs < r.ScheduledMs {
			t.Errorf("request %d: scheduled %.3f ready %.3f sent %.3f ms (%s)", r.Request, r.ScheduledMs, r.ReadyMs, r.SentMs, r.Error)
		}
		scheduled[r.Request] = r.ScheduledMs
		last = max(last, r.ScheduledMs)
	}
	for i := 1; i < len(scheduled); i++ {
		if scheduled[i] < scheduled[i-1] {
			t.Errorf("request %d scheduled at %.3f ms, before request %d at %.3f ms", i, scheduled[i], i-1, scheduled[i-1])
		}
	}
	// 40 arrivals at 200/s: the last is due near 200 ms (a Poisson sum of
	// 40 gaps lies within +-50% with overwhelming probability).
	if last < 100 || last > 300 {
		t.Errorf("last request scheduled at %.1f ms, want about 200", last)
	}
	again := poisson(40, 200, 7)
	if ms(again[39]) != last {
		t.Errorf("seed 7 gives a last send at %.3f ms, the run had %.3f", ms(again[39]), last)
	}
	if other := poisson(40, 200, 8); other[39] == again[39] {
		t.Errorf("seeds 7 and 8 give the same schedule")
	}
}

func TestRunNInRequest(t *testing.T) {
	m, srv := mock(t, mockserver.Options{})
	cfg := config(srv.URL)
	cfg.Mode = NInRequest
	results := run(t, cfg)
	checkSamples(t, results, 3, 4)
	perRequest := map[int]int{}
	for _, r := range results {
		perRequest[r.Request]++
		if r.Request != r.Prompt || !r.OK() || !r.HasUsage || !r.UsagePerRequest || r.TokenMismatch ||
			r.UsageOutputTokens != 20 || r.StreamOutputTokens != 5 || r.OutputTokens() != 5 || len(r.ITLMs) != 4 || r.FinishReason != "length" {
			t.Errorf("result %+v", r)
		}
	}
	if len(perRequest) != 3 || perRequest[0] != 4 || perRequest[1] != 4 || perRequest[2] != 4 {
		t.Errorf("samples per request = %v, want 4 for each of 3", perRequest)
	}
	if st := m.Stats(); st.Requests != 3 || st.Tokens != 60 {
		t.Errorf("server saw %d requests and sent %d tokens, want 3 and 60", st.Requests, st.Tokens)
	}
	mt := metrics.ComputeOnline(results, cfg.MaxConcurrency)
	if mt.Requests != 3 || mt.CompletedRequests != 3 || mt.Samples != 12 || mt.OutputTokens != 60 ||
		mt.InputTokens != 4+5+6 || mt.TokenMismatches != 0 || mt.TTFT.Count != 12 {
		t.Errorf("metrics %+v", mt)
	}
}

func TestRequestBody(t *testing.T) {
	for _, mode := range []Mode{PerSample, NInRequest} {
		t.Run(string(mode), func(t *testing.T) {
			var bodies atomic.Value
			m := mockserver.New(mockserver.Options{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if r.Method == http.MethodGet && r.URL.Path == "/health" {
					m.ServeHTTP(w, r) // the pool being opened
					return
				}
				if r.URL.Path != "/v1/completions" || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s %s with Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
				}
				bodies.Store(string(b))
				r.Body = io.NopCloser(bytes.NewReader(b))
				m.ServeHTTP(w, r)
			}))
			defer srv.Close()
			cfg := config(srv.URL + "/v1/")
			cfg.Prompts, cfg.N, cfg.Mode, cfg.IgnoreEOS = [][]int{{1, 2, 3}}, 2, mode, false
			results := run(t, cfg)
			if len(results) != 2 || !results[0].OK() {
				t.Fatalf("results %+v", results)
			}
			n := 1
			if mode == NInRequest {
				n = 2
			}
			want := fmt.Sprintf(`{"model":"mock-model","prompt":[1,2,3],"max_tokens":5,"temperature":1,"top_p":1,"ignore_eos":false,"n":%d,"stream":true,"stream_options":{"include_usage":true}}`, n)
			if got := bodies.Load(); got != want {
				t.Errorf("body\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestConcurrencyCap(t *testing.T) {
	// Paced so requests overlap: 5 tokens at 1000 tokens/s, a few ms each.
	m := mockserver.New(mockserver.Options{Model: "mock-model", TokensPerSecond: 1000})
	srv := httptest.NewUnstartedServer(m)
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	cfg := config(srv.URL)
	cfg.Prompts, cfg.N, cfg.MaxConcurrency = prompts(4, 4, 4, 4, 4, 4, 4, 4, 4, 4), 3, 3
	results := run(t, cfg)
	checkSamples(t, results, 10, 3)
	for _, r := range results {
		if !r.OK() {
			t.Errorf("result %+v", r)
		}
	}
	st := m.Stats()
	if st.Requests != 30 || st.MaxInFlight > 3 || st.MaxInFlight < 1 {
		t.Errorf("server saw %d requests, at most %d at once; want 30, at most 3", st.Requests, st.MaxInFlight)
	}
	// The pool of 3 is opened before the run, and kept alive through it.
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections opened, want 3", n)
	}
}

func TestTransportSizedToConcurrency(t *testing.T) {
	tr := newTransport(7)
	if tr.MaxConnsPerHost != 7 || tr.MaxIdleConnsPerHost != 7 || tr.MaxIdleConns != 7 || tr.DisableKeepAlives ||
		!tr.DisableCompression || tr.Proxy != nil || !tr.Protocols.HTTP1() || tr.Protocols.HTTP2() {
		t.Errorf("transport %+v", tr)
	}
}

// TestStreamCut has the server break the connection in the middle of every
// other response: those requests fail with the error, the others complete.
func TestStreamCut(t *testing.T) {
	m := mockserver.New(mockserver.Options{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 1 {
			m.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"text\":\" a\"}]}\n\n")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}))
	defer srv.Close()
	cfg := config(srv.URL)
	cfg.MaxConcurrency = 1
	results := run(t, cfg)
	checkSamples(t, results, 3, 4)
	failed := 0
	for _, r := range results {
		if r.OK() {
			continue
		}
		failed++
		if r.Status != 200 || r.StreamOutputTokens != 1 || !strings.Contains(r.Error, "unexpected EOF") {
			t.Errorf("cut result %+v", r)
		}
	}
	if failed != 6 {
		t.Errorf("%d failed, want 6", failed)
	}
	if mt := metrics.ComputeOnline(results, 1); mt.FailedRequests != 6 || mt.CompletedRequests != 6 || mt.OutputTokens != 30 {
		t.Errorf("metrics: %d failed, %d completed, %d output tokens; want 6, 6, 30", mt.FailedRequests, mt.CompletedRequests, mt.OutputTokens)
	}
}

// TestServerDies closes the server once the first result is in: the rest
// fail (cut off or refused), every result is still reported, the run ends.
func TestServerDies(t *testing.T) {
	m := mockserver.New(mockserver.Options{Model: "mock-model", TTFT: 200 * time.Millisecond})
	srv := httptest.NewServer(m)
	defer srv.Close()
	cfg := config(srv.URL)
	cfg.Prompts, cfg.N, cfg.MaxConcurrency = prompts(4, 4, 4, 4, 4, 4, 4, 4, 4, 4), 2, 2
	ch, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := <-ch
	srv.CloseClientConnections()
	srv.Close()
	results := append([]metrics.RequestResult{first}, collect(t, ch)...)
	checkSamples(t, results, 10, 2)
	failed := 0
	for _, r := range results {
		if !r.OK() {
			failed++
			if !r.Sent {
				t.Errorf("failed result %+v was never sent; only a cancelled run skips requests", r)
			}
		}
	}
	// 20 requests of at least 200 ms, 2 at a time: at most a few can have
	// finished before the close.
	if failed < 10 {
		t.Errorf("%d failed, want most of 20", failed)
	}
	mt := metrics.ComputeOnline(results, 2)
	if mt.FailedRequests != failed || !strings.Contains(strings.Join(mt.Notes, "\n"), "failed") {
		t.Errorf("metrics count %d failed (want %d); notes %q", mt.FailedRequests, failed, mt.Notes)
	}
}

func TestCancel(t *testing.T) {
	m, srv := mock(t, mockserver.Options{TTFT: time.Hour})
	cfg := config(srv.URL)
	cfg.Prompts, cfg.N, cfg.MaxConcurrency = prompts(4, 4, 4, 4, 4), 2, 2
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); m.Stats().InFlight < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("requests never reached the server: %+v", m.Stats())
		}
	}
	cancel()
	results := collect(t, ch)
	checkSamples(t, results, 5, 2)
	sent, unsent := 0, 0
	for _, r := range results {
		switch {
		case r.OK() || !strings.Contains(r.Error, "context canceled"):
			t.Errorf("result %+v, want failed with the context's error", r)
		case r.Sent:
			sent++
		case strings.HasPrefix(r.Error, "not sent: "):
			unsent++
		}
	}
	if sent != 2 || unsent != 8 {
		t.Errorf("%d sent and %d unsent, want 2 and 8", sent, unsent)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	results := run(t, config("http://"+addr))
	checkSamples(t, results, 3, 4)
	for _, r := range results {
		if r.OK() || r.Status != 0 || !r.Sent || !strings.Contains(r.Error, addr) {
			t.Errorf("result %+v", r)
		}
	}
	if mt := metrics.ComputeOnline(results, 8); mt.FailedRequests != 12 || mt.CompletedRequests != 0 || mt.RequestThroughput != 0 {
		t.Errorf("metrics %+v", mt)
	}
}

func TestHTTPError(t *testing.T) {
	_, srv := mock(t, mockserver.Options{})
	cfg := config(srv.URL)
	cfg.Model = "other"
	for _, r := range run(t, cfg) {
		if r.Status != 404 || r.Error != "HTTP 404: NotFoundError: The model `other` does not exist. (code 404)" {
			t.Errorf("result %+v", r)
		}
	}
}

func TestIgnoreEOS(t *testing.T) {
	_, srv := mock(t, mockserver.Options{EOSAfter: 2})
	for _, ignore := range []bool{true, false} {
		cfg := config(srv.URL)
		cfg.IgnoreEOS = ignore
		want, finish := 5, "length"
		if !ignore {
			want, finish = 2, "stop"
		}
		for _, r := range run(t, cfg) {
			if !r.OK() || r.OutputTokens() != want || r.FinishReason != finish {
				t.Errorf("ignore_eos %t: result %+v", ignore, r)
			}
		}
	}
}

func TestReturnTokenIDs(t *testing.T) {
	_, srv := mock(t, mockserver.Options{})
	cfg := config(srv.URL)
	cfg.ReturnTokenIDs = true
	for _, r := range run(t, cfg) {
		if !r.OK() || r.StreamOutputTokens != 5 || r.TokenMismatch {
			t.Errorf("result %+v", r)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.BaseURL = "localhost:8000" }, `BaseURL "localhost:8000" is not an http(s) URL`},
		{func(c *Config) { c.Prompts = nil }, "no prompts"},
		{func(c *Config) { c.Prompts = [][]int{{1}, {}} }, "prompt 1 is empty"},
		{func(c *Config) { c.N = -1 }, "N must be at least 1, got -1"},
		{func(c *Config) { c.MaxTokens = 0 }, "MaxTokens must be at least 1, got 0"},
		{func(c *Config) { c.MaxConcurrency = -2 }, "MaxConcurrency must be at least 1, got -2"},
		{func(c *Config) { c.TopP = 1.5 }, "TopP must be in (0, 1], got 1.5"},
		{func(c *Config) { c.Temperature = -1 }, "Temperature must not be negative, got -1"},
		{func(c *Config) { c.RequestRate = -5 }, "RequestRate must not be negative, got -5"},
		{func(c *Config) { c.Mode = "batch" }, `Mode must be "per-sample" or "n-in-request", got "batch"`},
	} {
		cfg := config("http://127.0.0.1:1")
		tc.edit(&cfg)
		if _, err := Run(context.Background(), cfg); err == nil || err.Error() != "loadgen: "+tc.want {
			t.Errorf("error %v, want %q", err, "loadgen: "+tc.want)
		}
	}
}

func TestResultJSON(t *testing.T) {
	_, srv := mock(t, mockserver.Options{})
	cfg := config(srv.URL)
	cfg.Prompts, cfg.N = cfg.Prompts[:1], 1
	results := run(t, cfg)
	b, err := json.Marshal(results[0])
	if err != nil {
		t.Fatal(err)
	}
	var back metrics.RequestResult
	if err := json.Unmarshal(b, &back); err != nil || back.UsageOutputTokens != 5 || len(back.ITLMs) != 4 || !back.Sent {
		t.Errorf("round trip of %s: %+v, %v", b, back, err)
	}
}

// BenchmarkRun measures the client against the instant mock server: 256
// requests (32 prompts x 8) of 16 tokens each per iteration.
func BenchmarkRun(b *testing.B) {
	srv := httptest.NewServer(mockserver.New(mockserver.Options{}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.BaseURL, cfg.Prompts, cfg.N, cfg.MaxTokens = srv.URL, prompts(make([]int, 32)...), 8, 16
	for i := range cfg.Prompts {
		cfg.Prompts[i] = []int{1, 2, 3, 4}
	}
	requests := 0
	for b.Loop() {
		ch, err := Run(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		for r := range ch {
			if !r.OK() {
				b.Fatal(r.Error)
			}
			requests++
		}
	}
	b.ReportMetric(float64(requests)/b.Elapsed().Seconds(), "req/s")
}

// TestWaitUntil checks that a scheduled send is never early, and that a
// cancelled run does not wait out its schedule.
func TestWaitUntil(t *testing.T) {
	for _, d := range []time.Duration{0, 300 * time.Microsecond, 3 * time.Millisecond} {
		at := time.Now().Add(d)
		waitUntil(context.Background(), at)
		if early := time.Until(at); early > 0 {
			t.Errorf("wait of %v returned %v early", d, early)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	start := time.Now()
	waitUntil(ctx, start.Add(time.Hour))
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("a cancelled wait took %v", waited)
	}
}
