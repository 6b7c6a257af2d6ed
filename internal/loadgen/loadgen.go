// Package loadgen drives an OpenAI-compatible /v1/completions server (vLLM's
// `vllm serve`) the way verl's rollout does: B prompts x n samples, every
// request scheduled at once, at most MaxConcurrency in flight, each response
// streamed and timed per sample with Go's monotonic clock.
//
// Run streams one metrics.RequestResult per sample as requests finish;
// metrics.Online turns them into vllm bench serve's statistics.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rollbench/rollbench/metrics"
)

// Mode says how the samples of a prompt are requested.
type Mode string

const (
	// PerSample sends every sample as its own request with n=1, the way
	// verl's rollout does: prompts x n requests.
	PerSample Mode = "per-sample"
	// NInRequest sends one request per prompt with n=N; each choice of the
	// response is accounted as its own sample.
	NInRequest Mode = "n-in-request"
)

// DefaultMaxConcurrency is the number of requests in flight when
// Config.MaxConcurrency is 0.
const DefaultMaxConcurrency = 128

// Config describes one run. The zero values of N, Mode, TopP and
// MaxConcurrency take the defaults their comments give.
type Config struct {
	// BaseURL is the server's address, such as http://127.0.0.1:8000 (a
	// trailing /v1 is accepted).
	BaseURL string
	// Model is the served model name; empty leaves "model" out of the body.
	Model string
	// Prompts are token-id lists, sent as the request's prompt.
	Prompts [][]int
	// N is the number of samples per prompt (default 1).
	N         int
	MaxTokens int
	// Temperature is sent as given (verl's rollout uses 1.0).
	Temperature float64
	// TopP is sent as given; 0 means 1.0.
	TopP      float64
	IgnoreEOS bool
	// Mode defaults to PerSample.
	Mode Mode
	// MaxConcurrency caps the requests in flight (default 128). The HTTP
	// connection pool has exactly this many connections.
	MaxConcurrency int
	// RequestRate spreads the requests' scheduled send times as a Poisson
	// process of this many requests per second, as vllm bench serve's
	// --request-rate does, seeded by Seed. 0 schedules every request at the
	// start, the rollout's shape.
	RequestRate float64
	Seed        uint64
	// ReturnTokenIDs asks vLLM for each chunk's token ids
	// ("return_token_ids": true), so the stream's token count is exact even
	// when a chunk carries several tokens.
	ReturnTokenIDs bool
}

// DefaultConfig is the rollout's sampling: temperature 1, top_p 1,
// ignore_eos, per-sample requests, 128 in flight.
func DefaultConfig() Config {
	return Config{N: 1, Temperature: 1, TopP: 1, IgnoreEOS: true, Mode: PerSample, MaxConcurrency: DefaultMaxConcurrency}
}

// Requests is the number of HTTP requests the run sends.
func (c Config) Requests() int {
	if c.Mode == NInRequest {
		return len(c.Prompts)
	}
	return len(c.Prompts) * c.N
}

// withDefaults fills the defaults and checks the configuration.
func (c Config) withDefaults() (Config, error) {
	if c.N == 0 {
		c.N = 1
	}
	if c.Mode == "" {
		c.Mode = PerSample
	}
	if c.TopP == 0 {
		c.TopP = 1
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	u, err := url.Parse(c.BaseURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return c, fmt.Errorf("loadgen: BaseURL %q is not an http(s) URL", c.BaseURL)
	case len(c.Prompts) == 0:
		return c, fmt.Errorf("loadgen: no prompts")
	case c.N < 1:
		return c, fmt.Errorf("loadgen: N must be at least 1, got %d", c.N)
	case c.MaxTokens < 1:
		return c, fmt.Errorf("loadgen: MaxTokens must be at least 1, got %d", c.MaxTokens)
	case c.MaxConcurrency < 1:
		return c, fmt.Errorf("loadgen: MaxConcurrency must be at least 1, got %d", c.MaxConcurrency)
	case c.Temperature < 0:
		return c, fmt.Errorf("loadgen: Temperature must not be negative, got %g", c.Temperature)
	case c.TopP < 0 || c.TopP > 1:
		return c, fmt.Errorf("loadgen: TopP must be in (0, 1], got %g", c.TopP)
	case c.RequestRate < 0 || math.IsNaN(c.RequestRate):
		return c, fmt.Errorf("loadgen: RequestRate must not be negative, got %g", c.RequestRate)
	case c.Mode != PerSample && c.Mode != NInRequest:
		return c, fmt.Errorf("loadgen: Mode must be %q or %q, got %q", PerSample, NInRequest, c.Mode)
	}
	for i, p := range c.Prompts {
		if len(p) == 0 {
			return c, fmt.Errorf("loadgen: prompt %d is empty", i)
		}
	}
	return c, nil
}

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	Model          string        `json:"model,omitempty"`
	Prompt         []int         `json:"prompt"`
	MaxTokens      int           `json:"max_tokens"`
	Temperature    float64       `json:"temperature"`
	TopP           float64       `json:"top_p"`
	IgnoreEOS      bool          `json:"ignore_eos"`
	N              int           `json:"n"`
	Stream         bool          `json:"stream"`
	StreamOptions  streamOptions `json:"stream_options"`
	ReturnTokenIDs bool          `json:"return_token_ids,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Run starts the run and returns its results as they finish, one per
// sample: Config.Requests() requests, len(Prompts) x N results. Every
// request is scheduled at the start, or at its time when RequestRate is
// set; MaxConcurrency workers send them. The
// channel is buffered for every result, so a slow reader never delays a
// send, and it closes once every result is in it. When ctx ends, requests in
// flight fail with the context's error and those not yet sent are reported
// as failed without being sent. A server that stops answering fails the
// requests it affects; the run still finishes. The error is for a Config
// that cannot run.
func Run(ctx context.Context, cfg Config) (<-chan metrics.RequestResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	out := make(chan metrics.RequestResult, len(cfg.Prompts)*cfg.N)
	r.preconnect(ctx)
	r.start = time.Now()
	go r.run(ctx, out)
	return out, nil
}

// Collect reads every result of a run, in the order they finished.
func Collect(results <-chan metrics.RequestResult) []metrics.RequestResult {
	var all []metrics.RequestResult
	for r := range results {
		all = append(all, r)
	}
	return all
}

type runner struct {
	cfg    Config
	url    string
	bodies [][]byte // one per prompt
	client *http.Client
	// schedule is each request's send time from the start; nil sends all
	// at once.
	schedule []time.Duration
	start    time.Time
}

// poisson returns the send times of n requests arriving as a Poisson
// process of rate per second: exponential gaps, the first one included.
func poisson(n int, rate float64, seed uint64) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, seed))
	at := make([]time.Duration, n)
	var t float64
	for i := range at {
		t += rng.ExpFloat64() / rate
		at[i] = time.Duration(t * float64(time.Second))
	}
	return at
}

func newRunner(cfg Config) (*runner, error) {
	base := strings.TrimSuffix(strings.TrimSuffix(cfg.BaseURL, "/"), "/v1")
	r := &runner{
		cfg:    cfg,
		url:    base + "/v1/completions",
		client: &http.Client{Transport: newTransport(cfg.MaxConcurrency)},
	}
	n := 1
	if cfg.Mode == NInRequest {
		n = cfg.N
	}
	for _, p := range cfg.Prompts {
		body, err := json.Marshal(completionRequest{
			Model: cfg.Model, Prompt: p, MaxTokens: cfg.MaxTokens,
			Temperature: cfg.Temperature, TopP: cfg.TopP, IgnoreEOS: cfg.IgnoreEOS,
			N: n, Stream: true, StreamOptions: streamOptions{IncludeUsage: true},
			ReturnTokenIDs: cfg.ReturnTokenIDs,
		})
		if err != nil {
			return nil, fmt.Errorf("loadgen: encoding a request: %w", err)
		}
		r.bodies = append(r.bodies, body)
	}
	if cfg.RequestRate > 0 && !math.IsInf(cfg.RequestRate, 1) {
		r.schedule = poisson(cfg.Requests(), cfg.RequestRate, cfg.Seed)
	}
	return r, nil
}

// newTransport is an HTTP/1.1 transport with exactly conc connections to the
// server, kept alive between requests. It uses no proxy (a proxy's latency
// would be measured as the server's) and asks for no compression (a gzip
// stream would hold chunks back).
func newTransport(conc int) *http.Transport {
	t := &http.Transport{
		DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conc,
		MaxIdleConnsPerHost: conc,
		MaxConnsPerHost:     conc,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		Protocols:           new(http.Protocols),
	}
	t.Protocols.SetHTTP1(true)
	return t
}

func (r *runner) since() time.Duration { return time.Since(r.start) }

// preconnect opens the pool's connections before the clock starts, so that
// the requests go out over warm connections, as a trainer's do from its
// second step on: dialing every connection at once is no part of the
// server's latency. Each response is held until all have arrived, which
// makes every request take a connection of its own. Failures are left for
// the run to report.
func (r *runner) preconnect(ctx context.Context) {
	health := strings.TrimSuffix(r.url, "/v1/completions") + "/health"
	n := min(r.cfg.MaxConcurrency, r.cfg.Requests())
	var arrived, done sync.WaitGroup
	arrived.Add(n)
	for range n {
		done.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, health, nil)
			var resp *http.Response
			if err == nil {
				resp, err = r.client.Do(req)
			}
			arrived.Done()
			if err != nil {
				return
			}
			arrived.Wait()
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
		})
	}
	done.Wait()
}

// job is one request: its prompt, its first sample and how many it asks for.
type job struct {
	req, prompt, sample, n int
}

func (r *runner) job(i int) job {
	if r.cfg.Mode == NInRequest {
		return job{req: i, prompt: i, n: r.cfg.N}
	}
	return job{req: i, prompt: i / r.cfg.N, sample: i % r.cfg.N, n: 1}
}

func (r *runner) run(ctx context.Context, out chan<- metrics.RequestResult) {
	due := make(chan int)
	var wg sync.WaitGroup
	for range min(r.cfg.MaxConcurrency, r.cfg.Requests()) {
		wg.Go(func() { r.work(ctx, due, out) })
	}
	r.dispatch(ctx, due)
	close(due)
	wg.Wait()
	r.client.CloseIdleConnections()
	close(out)
}

// dispatch hands every request, in order, to the next free worker at its
// scheduled time; a request finding every worker busy waits for one.
func (r *runner) dispatch(ctx context.Context, due chan<- int) {
	for i := range r.cfg.Requests() {
		if r.schedule != nil {
			waitUntil(ctx, r.start.Add(r.schedule[i]))
		}
		due <- i
	}
}

// waitUntil returns at t, or sooner when ctx ends. Go's timers fire up to a
// millisecond late while the process is idle (its network poller sleeps in
// whole milliseconds), which would count as the client's own lag, so the
// last millisecond is spun.
func waitUntil(ctx context.Context, t time.Time) {
	if d := time.Until(t) - time.Millisecond; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
	for time.Now().Before(t) && ctx.Err() == nil {
		runtime.Gosched()
	}
}

// work is one of MaxConcurrency workers: it sends the requests it is handed
// and streams their responses.
func (r *runner) work(ctx context.Context, due <-chan int, out chan<- metrics.RequestResult) {
	var free time.Duration // when this worker's slot was last free
	er := NewEventReader(nil)
	for i := range due {
		var scheduled time.Duration
		if r.schedule != nil {
			scheduled = r.schedule[i]
		}
		for _, res := range r.do(ctx, r.job(i), er, scheduled, max(scheduled, free)) {
			out <- res
		}
		free = r.since()
	}
}

// do sends one request and reads its response. It was due at scheduled and
// ready to go at ready, when its slot was free too.
func (r *runner) do(ctx context.Context, j job, er *EventReader, scheduled, ready time.Duration) []metrics.RequestResult {
	base := metrics.RequestResult{
		Request: j.req, Prompt: j.prompt, Sample: j.sample,
		ScheduledMs: ms(scheduled), ReadyMs: ms(ready), PromptTokens: len(r.cfg.Prompts[j.prompt]),
	}
	var sent time.Duration
	fail := func(msg string) []metrics.RequestResult {
		now := r.since()
		base.DoneMs = ms(now)
		if base.Sent {
			base.E2ELMs = ms(now - sent)
		}
		return failed(base, j.n, msg)
	}
	if ctx.Err() != nil {
		return fail("not sent: " + context.Cause(ctx).Error())
	}
	var wrote atomic.Int64
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(int64(r.since())) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, r.url, bytes.NewReader(r.bodies[j.prompt]))
	if err != nil {
		return fail(err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")

	sent = r.since()
	base.Sent, base.SentMs = true, ms(sent)
	resp, err := r.client.Do(req)
	base.WroteMs = ms(time.Duration(wrote.Load()))
	if err != nil {
		return fail(err.Error())
	}
	defer resp.Body.Close()
	return account(base, j.n, r.cfg.MaxTokens, resp.StatusCode, resp.Body, er, func() time.Duration { return r.since() - sent })
}
