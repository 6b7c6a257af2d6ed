// Online runs one online experiment: it starts `vllm serve` with
// the experiment's engine arguments, drives it with rollbench's Go streaming
// client the way the rollout sends work, checks the client's token counts
// against the server's own counters, and stops the server whatever happens.

package run

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/loadgen"
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/internal/server"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload"
)

// OnlineOptions are the online mode's own settings.
type OnlineOptions struct {
	Mode           loadgen.Mode `json:"mode"`
	MaxConcurrency int          `json:"max_concurrency"`
	// RequestRate, requests per second, spreads the sends as a Poisson
	// process seeded by the rollout's seed; 0 sends all at once.
	RequestRate  float64       `json:"request_rate,omitempty"`
	Port         int           `json:"port"`
	ReadyTimeout time.Duration `json:"ready_timeout"`
	// ServerArgs are passed to vllm serve as they are.
	ServerArgs []string `json:"server_args,omitempty"`
	// RequestsFile, when set, receives one JSON line per sample.
	RequestsFile string `json:"requests_file,omitempty"`
	// Profile, when set, starts the server with vLLM's profiler configured
	// and adds a profiled pass after the measured run.
	Profile *profile.Plan `json:"profile,omitempty"`
}

// OnlineExperiment is one online run.
type OnlineExperiment struct {
	Name      string        `json:"name"`
	ModelName string        `json:"model_name"`
	Spec      workload.Spec `json:"spec"`
	Options   OnlineOptions `json:"online"`
	// Log is where this process's standard output and error go, and so
	// the server's, which inherits them; empty when they are a terminal's.
	Log string `json:"log,omitempty"`
}

// stopGrace is how long the server may take to shut down, the teardown's
// bound.
const stopGrace = 15 * time.Second

// Online performs the experiment with py's vllm, which also describes the
// environment: nothing here embeds the interpreter. Like Offline, the result is complete on
// success and records what happened on failure; it is nil only when ctx was
// done before anything ran.
func Online(ctx context.Context, py engine.ChildPython, x OnlineExperiment) (*result.Online, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &result.Online{
		Header:       result.Started(result.OnlineSchema, x.Name, x.ModelName),
		Spec:         x.Spec,
		EngineKwargs: engine.Kwargs(x.Spec.Engine),
		Client: result.Client{Mode: x.Options.Mode, MaxConcurrency: x.Options.MaxConcurrency, RequestRate: x.Options.RequestRate, IgnoreEOS: true,
			Temperature: 1, TopP: 1, MaxTokens: x.Spec.Rollout.OutputLen},
		ServerLog: x.Log,
		Warnings:  []string{},
	}
	if p := x.Options.Profile; p != nil {
		r.EngineKwargs["profiler_config"] = p.Options.VLLMConfig(p.Dir)
	}
	var profileErr error
	err := runOnline(ctx, py, x, r, &profileErr)
	if err == nil {
		// A signal during the teardown.
		err = context.Cause(ctx)
	}
	if err != nil {
		r.Error = err.Error()
		return r, err
	}
	// The measurement stands whatever became of the profile.
	r.Status = result.StatusOK
	return r, profileErr
}

func runOnline(ctx context.Context, py engine.ChildPython, x OnlineExperiment, r *result.Online, profileErr *error) (err error) {
	spec := x.Spec
	if r.Environment, err = py.Describe(ctx); err != nil {
		return err
	}
	if err := engine.Supports(r.Environment, spec.Engine.Quant); err != nil {
		return err
	}
	vocab, err := workload.ReadVocabulary(spec.Engine.Model)
	if err != nil {
		return err
	}
	prompts, err := spec.Rollout.Prompts(vocab.Size, vocab.Special)
	if err != nil {
		return err
	}

	detail := "vllm serve"
	if r.ServerLog != "" {
		detail += ", log " + r.ServerLog
	}
	progress.From(ctx).Phase(progress.Server, detail)
	start := time.Now()
	srv, err := server.Start(ctx, server.Config{
		Python:       py.Exe,
		Args:         r.EngineKwargs,
		Extra:        x.Options.ServerArgs,
		Port:         x.Options.Port,
		ReadyTimeout: x.Options.ReadyTimeout,
	})
	r.Timings.ServerStart = time.Since(start).Seconds()
	if err != nil {
		return err
	}
	r.ServerCommand = srv.Argv
	defer func() {
		progress.From(ctx).Phase(progress.Teardown, "")
		start := time.Now()
		srv.Stop(stopGrace)
		r.Timings.ServerStop = time.Since(start).Seconds()
	}()

	cfg := loadgen.DefaultConfig()
	cfg.BaseURL = srv.URL
	cfg.Model = spec.Engine.Model // vllm serve's default served name
	cfg.N = spec.Rollout.N
	cfg.MaxTokens = spec.Rollout.OutputLen
	cfg.Mode = x.Options.Mode
	cfg.MaxConcurrency = x.Options.MaxConcurrency
	cfg.RequestRate, cfg.Seed = x.Options.RequestRate, uint64(spec.Rollout.Seed)
	// vLLM sends chunks with no text while it holds back part of a UTF-8
	// character, so only token ids make the stream's count exact.
	cfg.ReturnTokenIDs = true
	if spec.Rollout.WarmupPrompts > 0 {
		warm := cfg
		warm.RequestRate = 0
		if warm.Prompts, err = spec.Rollout.WarmupPromptSet(vocab.Size, vocab.Special); err != nil {
			return err
		}
		progress.From(ctx).Phase(progress.Warmup, "")
		start := time.Now()
		results, err := loadgen.Run(ctx, warm)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		if m := metrics.ComputeOnline(loadgen.Collect(results), warm.MaxConcurrency); m.FailedRequests > 0 {
			return fmt.Errorf("warm-up: %d of %d requests failed", m.FailedRequests, m.Requests)
		}
		r.Timings.Warmup = time.Since(start).Seconds()
	}

	before, err := srv.Counters(ctx)
	if err != nil {
		return err
	}
	cfg.Prompts = prompts
	progress.From(ctx).Phase(progress.Requests, fmt.Sprintf("%d prompts x n=%d", len(prompts), cfg.N))
	start = time.Now()
	if err := measureOnline(ctx, cfg, x.Options.RequestsFile, r); err != nil {
		return err
	}
	r.Timings.Run = time.Since(start).Seconds()
	// Requests fail the moment the server dies, a little before its exit
	// is seen: after failures, wait that moment for it.
	if dead := !srv.Alive() || r.Metrics.FailedRequests > 0 && srv.ExitsWithin(2*time.Second); dead {
		return fmt.Errorf("vllm serve died during the run: %d of %d requests failed",
			r.Metrics.FailedRequests, r.Metrics.Requests)
	}
	after, err := srv.Counters(ctx)
	if err != nil {
		if m := r.Metrics; m.FailedRequests > 0 {
			return fmt.Errorf("%d of %d requests failed, and then: %w", m.FailedRequests, m.Requests, err)
		}
		return err
	}
	r.ServerCounters = map[string]float64{}
	for _, k := range []string{"vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:request_success_total"} {
		r.ServerCounters[k] = after[k] - before[k]
	}
	r.Warnings = append(r.Warnings, checkOnline(r.Metrics, r.ServerCounters, spec.Rollout)...)
	if m := r.Metrics; m.FailedRequests > 0 {
		return fmt.Errorf("%d of %d requests failed (per-request errors in the result)", m.FailedRequests, m.Requests)
	}
	if x.Options.Profile != nil {
		progress.From(ctx).Phase(progress.Profile, "")
		r.Profile = &profile.Record{}
		*profileErr = onlineProfilePass(ctx, srv, cfg, vocab, spec.Rollout, x.Options.Profile, r.Profile)
	}
	return nil
}

// measureOnline runs the load, accumulating metrics and writing each sample's
// record as it arrives, so an interrupted run keeps what it measured.
func measureOnline(ctx context.Context, cfg loadgen.Config, requestsFile string, r *result.Online) error {
	var enc *json.Encoder
	if requestsFile != "" {
		if err := os.MkdirAll(filepath.Dir(requestsFile), 0o755); err != nil {
			return fmt.Errorf("requests file: %w", err)
		}
		f, err := os.Create(requestsFile)
		if err != nil {
			return fmt.Errorf("requests file: %w", err)
		}
		defer f.Close()
		enc = json.NewEncoder(f)
		r.Requests = requestsFile
	}
	results, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	m := metrics.Online{MaxConcurrency: cfg.MaxConcurrency}
	// Progress counts samples, whichever way they are requested.
	total := len(cfg.Prompts) * cfg.N
	done, per := 0, total/max(cfg.Requests(), 1)
	for res := range results {
		m.Add(res)
		done += per
		progress.From(ctx).Samples(done, total)
		if enc != nil {
			if err := enc.Encode(res); err != nil {
				return fmt.Errorf("requests file: %w", err)
			}
		}
	}
	m.Close()
	r.Metrics = m
	return context.Cause(ctx)
}

// checkOnline compares the client's counts with what was asked and with the
// server's counters; each difference is a warning, never a correction.
func checkOnline(m metrics.Online, server map[string]float64, ro workload.Rollout) []string {
	var warns []string
	if want := ro.Sequences() * ro.OutputLen; m.OutputTokens != want && m.FailedRequests == 0 {
		warns = append(warns, fmt.Sprintf("server reported %d output tokens, want %d samples x %d = %d with ignore_eos",
			m.OutputTokens, ro.Sequences(), ro.OutputLen, want))
	}
	if m.StreamOutputTokens != m.OutputTokens {
		warns = append(warns, fmt.Sprintf("the stream carried %d tokens, the server's usage counts %d", m.StreamOutputTokens, m.OutputTokens))
	}
	if g := server["vllm:generation_tokens_total"]; int(g) != m.OutputTokens {
		warns = append(warns, fmt.Sprintf("the server's vllm:generation_tokens counter grew by %g during the run, the responses' usage sums to %d", g, m.OutputTokens))
	}
	if p := server["vllm:prompt_tokens_total"]; int(p) != m.InputTokens {
		warns = append(warns, fmt.Sprintf("the server's vllm:prompt_tokens counter grew by %g during the run, the client sent %d", p, m.InputTokens))
	}
	return warns
}
