// Command bench-online measures rollbench's Go streaming client against
// `vllm bench serve` (vLLM's Python client), both driving the same instant
// server (rollbench-inproc mock-server, a separate process) with the same
// requests, at several concurrencies, alternating run by run. It writes the
// sustained rates and each client's own added latency, with the machine and
// versions, to benchmarks/online.{md,json}.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gonum.org/v1/gonum/stat"

	"github.com/rollbench/rollbench/hostinfo"
	"github.com/rollbench/rollbench/loadgen"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench-online:", err)
		os.Exit(1)
	}
}

type options struct {
	rollbench, vllm, out, logDir string
	runs, requests, outputLen    int
	concurrencies                []int
}

// sample is one run of one client.
type sample struct {
	Client            string  `json:"client"`
	Concurrency       int     `json:"concurrency"`
	Run               int     `json:"run"`
	Requests          int     `json:"requests"`
	Completed         int     `json:"completed"`
	DurationS         float64 `json:"duration_s"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	OutputTokensPerS  float64 `json:"output_tokens_per_second"`
	// TTFT against a server that answers at once is the client's own
	// added latency.
	TTFTp50ms float64 `json:"ttft_p50_ms"`
	TTFTp99ms float64 `json:"ttft_p99_ms"`
	// OverheadP99ms is rollbench's own measure of the same: from a free
	// concurrency slot to the request written on its connection.
	OverheadP50ms float64 `json:"client_overhead_p50_ms,omitempty"`
	OverheadP99ms float64 `json:"client_overhead_p99_ms,omitempty"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := pflag.NewFlagSet("bench-online", pflag.ContinueOnError)
	fs.StringVar(&o.rollbench, "rollbench", "bin/rollbench-inproc", "rollbench-inproc binary (serves the mock server)")
	fs.StringVar(&o.vllm, "vllm", ".venv/bin/vllm", "vllm CLI")
	fs.StringVar(&o.out, "out", "benchmarks/online", "output files' path without extension")
	fs.StringVar(&o.logDir, "log-dir", "benchmark_logs/bench-online", "directory for each run's output")
	fs.IntVar(&o.runs, "runs", 3, "runs of each client at each concurrency")
	fs.IntVar(&o.requests, "requests", 4096, "requests per run, all scheduled at once")
	fs.IntVar(&o.outputLen, "output-len", 16, "output tokens per request")
	fs.IntSliceVar(&o.concurrencies, "concurrency", []int{128, 1024}, "concurrencies to measure")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return err
	}
	// vllm bench serve needs a tokenizer to build its prompts.
	tok, err := filepath.Abs(filepath.Join(o.logDir, "tiny-bf16"))
	if err != nil {
		return err
	}
	_ = os.RemoveAll(tok)
	if out, err := exec.CommandContext(ctx, o.rollbench, "tiny-model", "--out", tok).CombinedOutput(); err != nil {
		return fmt.Errorf("tiny model: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	mock := exec.CommandContext(ctx, o.rollbench, "mock-server", "--port", strconv.Itoa(port))
	if err := mock.Start(); err != nil {
		return err
	}
	defer mock.Process.Kill()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitHealthy(base); err != nil {
		return err
	}

	var samples []sample
	for _, conc := range o.concurrencies {
		for i := range o.runs {
			order := []string{"rollbench", "vllm bench serve"}
			if i%2 == 1 {
				order[0], order[1] = order[1], order[0]
			}
			for _, client := range order {
				var s sample
				var err error
				if client == "rollbench" {
					s, err = runGo(ctx, o, base, conc)
				} else {
					s, err = runVLLM(ctx, o, base, tok, conc, i)
				}
				if err != nil {
					return fmt.Errorf("%s at concurrency %d, run %d: %w", client, conc, i, err)
				}
				s.Client, s.Concurrency, s.Run = client, conc, i
				fmt.Fprintf(stdout, "c=%-5d run %d %-17s %8.0f req/s %9.0f tok/s  TTFT p99 %7.2f ms\n",
					conc, i, client, s.RequestsPerSecond, s.OutputTokensPerS, s.TTFTp99ms)
				samples = append(samples, s)
			}
		}
	}
	return write(o, samples)
}

func runGo(ctx context.Context, o options, base string, conc int) (sample, error) {
	cfg := loadgen.DefaultConfig()
	cfg.BaseURL = base
	cfg.MaxTokens = o.outputLen
	cfg.MaxConcurrency = conc
	cfg.Prompts = make([][]int, o.requests)
	for i := range cfg.Prompts {
		cfg.Prompts[i] = []int{1, 2, 3, 4}
	}
	results, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return sample{}, err
	}
	m := loadgen.Compute(loadgen.Collect(results), conc)
	if m.FailedRequests > 0 {
		return sample{}, fmt.Errorf("%d requests failed: %v", m.FailedRequests, m.Notes)
	}
	return sample{Requests: m.Requests, Completed: m.CompletedRequests, DurationS: m.DurationS,
		RequestsPerSecond: m.RequestThroughput, OutputTokensPerS: m.OutputThroughput,
		TTFTp50ms: m.TTFT.P50, TTFTp99ms: m.TTFT.P99,
		OverheadP50ms: m.ClientOverhead.P50, OverheadP99ms: m.ClientOverhead.P99}, nil
}

func runVLLM(ctx context.Context, o options, base, tok string, conc, i int) (sample, error) {
	resultFile := fmt.Sprintf("vllm-c%d-%d.json", conc, i)
	cmd := exec.CommandContext(ctx, o.vllm, "bench", "serve", "--backend", "vllm", "--base-url", base,
		"--endpoint", "/v1/completions", "--model", "mock", "--tokenizer", tok,
		"--dataset-name", "random", "--random-input-len", "4", "--random-output-len", strconv.Itoa(o.outputLen),
		"--num-prompts", strconv.Itoa(o.requests), "--max-concurrency", strconv.Itoa(conc), "--request-rate", "inf",
		"--ignore-eos", "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,99",
		"--save-result", "--result-dir", o.logDir, "--result-filename", resultFile)
	cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1")
	out, err := cmd.CombinedOutput()
	logPath := filepath.Join(o.logDir, strings.TrimSuffix(resultFile, ".json")+".log")
	_ = os.WriteFile(logPath, out, 0o644)
	if err != nil {
		return sample{}, fmt.Errorf("%v (log: %s)", err, logPath)
	}
	data, err := os.ReadFile(filepath.Join(o.logDir, resultFile))
	if err != nil {
		return sample{}, err
	}
	var r struct {
		Completed  int     `json:"completed"`
		Failed     int     `json:"failed"`
		Duration   float64 `json:"duration"`
		ReqTput    float64 `json:"request_throughput"`
		OutTput    float64 `json:"output_throughput"`
		TTFTp50    float64 `json:"p50_ttft_ms"`
		TTFTp99    float64 `json:"p99_ttft_ms"`
		NumPrompts int     `json:"num_prompts"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return sample{}, err
	}
	if r.Failed > 0 {
		return sample{}, fmt.Errorf("%d requests failed (log: %s)", r.Failed, logPath)
	}
	return sample{Requests: r.Completed + r.Failed, Completed: r.Completed, DurationS: r.Duration,
		RequestsPerSecond: r.ReqTput, OutputTokensPerS: r.OutTput, TTFTp50ms: r.TTFTp50, TTFTp99ms: r.TTFTp99}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHealthy(base string) error {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err == nil {
			conn.Close()
			return nil
		}
	}
	return fmt.Errorf("mock server at %s did not come up", base)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return stat.Quantile(0.5, stat.Empirical, s, nil)
}

func write(o options, samples []sample) error {
	env := map[string]string{
		"date":  time.Now().UTC().Format(time.RFC3339),
		"cpu":   hostinfo.CPUModel(),
		"cores": strconv.Itoa(runtime.NumCPU()),
		"go":    runtime.Version(),
	}
	if v, err := exec.Command(o.vllm, "--version").Output(); err == nil {
		env["vllm"] = strings.TrimSpace(lastLine(string(v)))
	}
	data, err := json.MarshalIndent(map[string]any{"environment": env, "requests_per_run": o.requests,
		"output_len": o.outputLen, "samples": samples}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(o.out+".json", append(data, '\n'), 0o644); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Online client: rollbench (Go) vs `vllm bench serve` (Python)\n\n")
	fmt.Fprintf(&b, "Measured %s on %s (%s cores), %s, vLLM %s. Regenerate with `make bench-online`.\n\n",
		env["date"], env["cpu"], env["cores"], env["go"], env["vllm"])
	fmt.Fprintf(&b, "Both clients drive the same instant server (`rollbench-inproc mock-server`, a separate process, "+
		"no pacing, %d output tokens per request in vLLM's stream format) with %d streaming /v1/completions requests "+
		"scheduled at once and capped by the concurrency; %d runs of each, alternating. Against a server that answers "+
		"at once, the time to first token is the client's own added latency. Figures are medians over runs.\n\n",
		o.outputLen, o.requests, o.runs)
	fmt.Fprintf(&b, "| concurrency | client | requests/s | output tokens/s | TTFT p50 ms | TTFT p99 ms | Go client overhead p99 ms |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|\n")
	ratios := map[int]float64{}
	for _, conc := range o.concurrencies {
		rates := map[string]float64{}
		for _, client := range []string{"rollbench", "vllm bench serve"} {
			var rps, tps, t50, t99, ov []float64
			for _, s := range samples {
				if s.Concurrency == conc && s.Client == client {
					rps, tps = append(rps, s.RequestsPerSecond), append(tps, s.OutputTokensPerS)
					t50, t99, ov = append(t50, s.TTFTp50ms), append(t99, s.TTFTp99ms), append(ov, s.OverheadP99ms)
				}
			}
			rates[client] = median(rps)
			overhead := "n/a"
			if client == "rollbench" {
				overhead = fmt.Sprintf("%.3f", median(ov))
			}
			fmt.Fprintf(&b, "| %d | %s | %.0f | %.0f | %.3f | %.3f | %s |\n", conc, client, median(rps), median(tps), median(t50), median(t99), overhead)
		}
		ratios[conc] = rates["rollbench"] / rates["vllm bench serve"]
	}
	fmt.Fprintf(&b, "\nSustained requests/s, rollbench / vllm bench serve:")
	for _, conc := range o.concurrencies {
		fmt.Fprintf(&b, " %.1fx at concurrency %d;", ratios[conc], conc)
	}
	fmt.Fprintf(&b, " goal: at least 10x, and a p99 added latency under 1 ms at concurrency 128.\n\n")
	fmt.Fprintf(&b, "| concurrency | run | client | requests/s | output tok/s | TTFT p99 ms | duration s |\n|---|---|---|---|---|---|---|\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "| %d | %d | %s | %.0f | %.0f | %.3f | %.2f |\n", s.Concurrency, s.Run, s.Client, s.RequestsPerSecond, s.OutputTokensPerS, s.TTFTp99ms, s.DurationS)
	}
	return os.WriteFile(o.out+".md", []byte(b.String()), 0o644)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
