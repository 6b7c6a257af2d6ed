//go:build e2e

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// onlineRollout is smallRollout served by vllm serve on a free port.
var onlineRollout = append([]string{"--online", "--port", "0", "--server-timeout", "8m"}, smallRollout...)

// onlineProfile adds a profiled pass of 1 prompt x n=1, 8 tokens, to an
// online run.
var onlineProfile = []string{"--profile", "--profile-num-prompts", "1", "--profile-n", "1", "--profile-output-len", "8"}

// TestOnlineOnTinyModel runs one server for the measured run (spread sends
// at 40 requests/s, every request saved) and the profiled pass after it.
func TestOnlineOnTinyModel(t *testing.T) {
	mark := marker(t)
	dir := t.TempDir()
	out, logs, profiles := filepath.Join(dir, "results"), filepath.Join(dir, "logs"), filepath.Join(dir, "profiles")
	args := append([]string{"--output-dir", out, "--log-dir", logs, "--name", "online", "--save-requests", "--request-rate", "40",
		"--profile-dir", profiles}, onlineProfile...)
	r := runBinary(t, []string{mark}, append(args, onlineRollout...)...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s\nserver log:\n%s", r.code, r.stdout, lastLines(r.stderr, 20),
			lastLines(readFile(filepath.Join(logs, "online.log")), 30))
	}
	assertNoSurvivors(t, mark)
	res := readResult(t, filepath.Join(out, "online.json"))
	// 3 prompts x n=2, each sample its own request of 32 prompt tokens,
	// 16 output tokens each (ignore_eos): counted by the server's usage,
	// by the stream, and by the server's own Prometheus counters.
	want := map[string]any{
		"schema":                       "rollbench.online/1",
		"status":                       "ok",
		"completed":                    6.0,
		"failed":                       0.0,
		"total_input_tokens":           6 * 32.0,
		"total_output_tokens":          6 * 16.0,
		"max_concurrency":              128.0,
		"metrics.stream_output_tokens": 96.0,
		"metrics.completed_samples":    6.0,
		"server_counters.vllm:generation_tokens_total": 96.0,
		"server_counters.vllm:prompt_tokens_total":     192.0,
		"client.mode":         "per-sample",
		"client.request_rate": 40.0,
	}
	for k, w := range want {
		if got := lookup(res, k); got != w {
			t.Errorf("%s = %#v, want %#v", k, got, w)
		}
	}
	for _, k := range []string{"mean_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "median_itl_ms", "p99_e2el_ms", "output_throughput", "duration"} {
		if v, _ := res[k].(float64); v <= 0 {
			t.Errorf("%s = %v, want a positive figure", k, res[k])
		}
	}
	if w, _ := res["warnings"].([]any); len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
	if cmd, _ := res["server_command"].([]any); len(cmd) < 4 || cmd[3] != "serve" {
		t.Errorf("server command not recorded: %v", res["server_command"])
	}
	// At 40 requests/s the sends are spread out, none before its time.
	type sendTimes struct {
		ScheduledMs float64 `json:"scheduled_ms"`
		SentMs      float64 `json:"sent_ms"`
	}
	var records []sendTimes
	for _, line := range strings.Split(strings.TrimSpace(readFile(filepath.Join(out, "online.requests.jsonl"))), "\n") {
		var rec sendTimes
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("requests file: %v: %s", err, line)
		}
		records = append(records, rec)
	}
	if len(records) != 6 {
		t.Errorf("requests file has %d records, want 6", len(records))
	}
	var last float64
	for _, rec := range records {
		if rec.ScheduledMs <= 0 || rec.SentMs < rec.ScheduledMs {
			t.Errorf("request scheduled at %.3f ms, sent at %.3f ms", rec.ScheduledMs, rec.SentMs)
		}
		last = max(last, rec.ScheduledMs)
	}
	if last < 20 {
		t.Errorf("6 requests at 40/s all scheduled within %.3f ms", last)
	}
	if !strings.Contains(r.stdout, "6 of 6 requests completed") {
		t.Errorf("summary:\n%s", r.stdout)
	}
	checkProfiledOnline(t, res)
}

func TestOnlineBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	broken := filepath.Join(t.TempDir(), "broken")
	copyDir(t, tinyModel(t), broken)
	config := filepath.Join(broken, "config.json")
	data, _ := os.ReadFile(config)
	if err := os.WriteFile(config, bytes.ReplaceAll(data, []byte("Qwen3ForCausalLM"), []byte("NoSuchForCausalLM")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"port in use", []string{"--port", port}, []string{"--port " + port + ": 127.0.0.1:" + port + " is in use"}},
		{"server dies during start-up", []string{"--port", "0", "--model", broken},
			[]string{"vllm serve exited with status 1 during start-up: root cause: pydantic_core._pydantic_core.ValidationError", "NoSuchForCausalLM"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := marker(t)
			args := append([]string{"--online", "--output-dir", t.TempDir(), "--log-dir", t.TempDir()}, smallRollout...)
			r := runBinary(t, []string{mark}, append(args, tc.args...)...)
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, lastLines(r.stderr, 25))
				}
			}
			assertNoSurvivors(t, mark)
		})
	}
}

// TestOnlineServerLostMidRun kills the server while requests are in flight:
// they count as failed, the run ends with an error summary and a result.
func TestOnlineServerLostMidRun(t *testing.T) {
	runOnlineAndDisturb(t, func(t *testing.T, cmd *exec.Cmd, mark string) {
		for _, p := range survivors(mark) {
			if strings.Contains(p, "vllm.entrypoints.cli.main serve") {
				pid, _ := strconv.Atoi(strings.SplitN(p, ":", 2)[0])
				_ = syscall.Kill(-pid, syscall.SIGKILL) // the server's whole group
			}
		}
	}, 1, "requests failed")
}

func TestOnlineInterruptStopsServer(t *testing.T) {
	runOnlineAndDisturb(t, func(t *testing.T, cmd *exec.Cmd, mark string) {
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
	}, 130, "interrupted by SIGINT during requests")
}

// runOnlineAndDisturb starts a long online run, calls disturb once the
// requests are flowing, and checks the run ends with status code, a failed
// result whose error contains want, and nothing left running.
func runOnlineAndDisturb(t *testing.T, disturb func(*testing.T, *exec.Cmd, string), code int, want string) {
	mark := marker(t)
	out, logs := t.TempDir(), t.TempDir()
	cmd := exec.Command(binary(t), "--online", "--port", "0", "--num-prompts", "32", "-n", "8", "--input-len", "64",
		"--output-len", "512", "--max-model-len", "768", "--enforce-eager", "--kv-cache-memory", "1GiB",
		"--warmup-prompts", "0", "--output-dir", out, "--log-dir", logs, "--name", "disturbed")
	cmd.Env = append(os.Environ(), mark)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	serverLog := filepath.Join(logs, "disturbed.log")
	deadline := time.Now().Add(8 * time.Minute)
	for !strings.Contains(readFile(serverLog), "POST /v1/completions") {
		if time.Now().After(deadline) {
			t.Fatalf("no request reached the server:\n%s", lastLines(readFile(serverLog), 20))
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	start := time.Now()
	disturb(t, cmd, mark)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != code {
		t.Errorf("exit %v, want status %d\n%s", err, code, lastLines(stderr.String(), 15))
	}
	if took := time.Since(start); took > 90*time.Second {
		t.Errorf("ending took %v", took)
	}
	assertNoSurvivors(t, mark)
	res := readResult(t, filepath.Join(out, "disturbed.json"))
	if res["status"] != "failed" || !strings.Contains(res["error"].(string), want) {
		t.Errorf("result: status %v, error %v; want failed with %q", res["status"], res["error"], want)
	}
}

func readFile(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}
