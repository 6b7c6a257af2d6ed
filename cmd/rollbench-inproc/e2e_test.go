//go:build e2e

package main

// End-to-end tests: the built binary, a real embedded CPython and real vLLM
// (its CPU build) on the built-in tiny model. make test-go builds the binary
// and names it in ROLLBENCH_BIN.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rollbench/rollbench/python"
)

func binary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("ROLLBENCH_BIN")
	if bin == "" {
		t.Fatal("ROLLBENCH_BIN is not set: run the end-to-end tests with make test")
	}
	return bin
}

// marker tags every process a test starts, through an environment variable
// that children inherit, so that survivors can be found whoever their parent
// is by then.
func marker(t *testing.T) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "ROLLBENCH_TEST_MARKER=" + t.Name() + "-" + hex.EncodeToString(b)
}

// survivors lists the processes that carry the marker.
func survivors(mark string) []string {
	var found []string
	envs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, path := range envs {
		data, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(data, []byte(mark+"\x00")) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "cmdline"))
		found = append(found, filepath.Base(filepath.Dir(path))+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return found
}

func assertNoSurvivors(t *testing.T, mark string) {
	t.Helper()
	// Reparented children may take a moment to notice their parent died.
	deadline := time.Now().Add(20 * time.Second)
	for {
		left := survivors(mark)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left behind: %q", left)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func runBinary(t *testing.T, env []string, args ...string) run1 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	return runCommand(ctx, t, binary(t), env, args...)
}

// smallRollout is 3 prompts x n=2 with 32 prompt and 16 output tokens.
var smallRollout = []string{"--num-prompts", "3", "-n", "2", "--input-len", "32", "--output-len", "16",
	"--enforce-eager", "--kv-cache-memory", "1GiB"}

// TestOfflineOnTinyModel runs smallRollout with the engine core in a child
// process (vLLM's default) and in this one. The first run also carries
// the profiled pass through vLLM's profiler (profileRollout), so one engine
// load serves both sets of checks: the measured figures must be the same
// with a profiled pass after them.
func TestOfflineOnTinyModel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     []string
		wantMP  bool
		profile bool
	}{
		{"engine core in a child process (vLLM default), profiled after", nil, true, true},
		{"engine core in this process", []string{"VLLM_ENABLE_V1_MULTIPROCESSING=0"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := marker(t)
			dir := t.TempDir()
			out, logs, profiles := filepath.Join(dir, "results"), filepath.Join(dir, "logs"), filepath.Join(dir, "profiles")
			args := append([]string{"--output-dir", out, "--log-dir", logs, "--name", "run"}, smallRollout...)
			if tc.profile {
				args = append([]string{"--output-dir", out, "--log-dir", logs, "--name", "run", "--profile-dir", profiles, "--profile-top", "10"}, profileRollout...)
			}
			r := runBinary(t, append(tc.env, mark), args...)
			log := filepath.Join(logs, "run.log")
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s\nengine log:\n%s", r.code, r.stdout, lastLines(r.stderr, 40), lastLines(readFile(log), 40))
			}
			assertNoSurvivors(t, mark)
			res := readResult(t, filepath.Join(out, "run.json"))
			checkSmallRun(t, r, res, tc.wantMP)
			checkConsole(t, r, res, log)
			// vLLM kills an engine core still exiting after 5 s; its
			// processes' exit used to walk their heaps for 4.5-5 s here.
			if td, _ := lookup(res, "timings.teardown_s").(float64); td <= 0 || td >= 5 {
				t.Errorf("teardown took %v s: the engine's processes did not exit within vLLM's 5 s", td)
			} else {
				t.Logf("teardown %.2f s", td)
			}
			if tc.profile {
				checkProfiledRun(t, r, res, filepath.Join(profiles, "run"), log)
			}
		})
	}
}

// checkSmallRun checks a run of smallRollout's shape: its exact counts, its
// engine arguments and environment, rates that agree with its time.
func checkSmallRun(t *testing.T, r run1, res map[string]any, wantMP bool) {
	t.Helper()
	// Exact counts: 3 prompts x 32 tokens once each; 3 x 2 samples
	// x 16 tokens, as ignore_eos guarantees.
	want := map[string]any{
		"status":                                   "ok",
		"num_requests":                             3.0,
		"total_num_tokens":                         3*32 + 3*2*16.0,
		"tokens.prompts":                           3.0,
		"tokens.sequences":                         6.0,
		"tokens.prompt_tokens":                     96.0,
		"tokens.output_tokens":                     96.0,
		"tokens.finish_reasons.length":             6.0,
		"sampling_params.n":                        2.0,
		"sampling_params.ignore_eos":               true,
		"engine_kwargs.max_num_seqs":               1024.0,
		"engine_kwargs.kv_cache_memory_bytes":      float64(1 << 30),
		"environment.platform":                     "cpu",
		"environment.vllm_v1_multiprocessing":      wantMP,
		"environment.vllm_worker_multiproc_method": "spawn",
	}
	for key, w := range want {
		if got := lookup(res, key); got != w {
			t.Errorf("%s = %#v, want %#v", key, got, w)
		}
	}
	if w, _ := res["warnings"].([]any); len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
	elapsed, _ := res["elapsed_time"].(float64)
	tps, _ := res["tokens_per_second"].(float64)
	rps, _ := res["requests_per_second"].(float64)
	if elapsed <= 0 || !near(tps, (96+96)/elapsed) || !near(rps, 3/elapsed) {
		t.Errorf("elapsed_time %v, tokens_per_second %v, requests_per_second %v do not agree", elapsed, tps, rps)
	}
	if v, _ := lookup(res, "environment.vllm").(string); v == "" {
		t.Error("no vllm version recorded")
	}
	if !strings.Contains(r.stdout, "96 prompt, 96 output over 6 sequences") {
		t.Errorf("summary lacks the counts:\n%s", r.stdout)
	}
}

// checkConsole checks what a run without a terminal shows: rollbench's own
// lines on stderr, one per phase, and every line of the engine in the log
// that the summary and the result name; the sample counter stays off.
func checkConsole(t *testing.T, r run1, res map[string]any, log string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		if !strings.HasPrefix(line, "rollbench-inproc: phase ") {
			t.Errorf("stderr has a line that is not a phase of rollbench's: %q", line)
		}
	}
	for _, phase := range []string{"import", "load (", "warm-up", "generate (3 prompts x n=2)", "teardown"} {
		if !strings.Contains(r.stderr, "rollbench-inproc: phase "+phase) {
			t.Errorf("stderr lacks the phase %q:\n%s", phase, r.stderr)
		}
	}
	engine := readFile(log)
	for _, want := range []string{" pid=", "init engine", "non-default args"} {
		if !strings.Contains(engine, want) {
			t.Errorf("engine log %s lacks %q:\n%s", log, want, lastLines(engine, 20))
		}
	}
	if !strings.Contains(r.stdout, "  engine log  "+log+"\n") {
		t.Errorf("summary does not name the engine log %s:\n%s", log, r.stdout)
	}
	if res["log"] != log || res["progress_hook"] != false {
		t.Errorf("result: log %v, progress_hook %v; want %s and false", res["log"], res["progress_hook"], log)
	}
}

func TestPythonWithoutVLLM(t *testing.T) {
	base := baseInterpreter(t)
	mark := marker(t)
	r := runBinary(t, []string{mark}, append([]string{"--python", base, "--model", tinyModel(t), "--output-dir", t.TempDir(), "--log-dir", t.TempDir()}, smallRollout...)...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	if want := "cannot import vllm (No module named 'vllm')"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	assertNoSurvivors(t, mark)
}

func TestW8A16RefusedOnCPU(t *testing.T) {
	// A checkpoint that declares a quantization passes the label check; the
	// platform, known once vllm is imported, refuses W8A16 before loading.
	model := filepath.Join(t.TempDir(), "w8a16")
	copyDir(t, tinyModel(t), model)
	config := filepath.Join(model, "config.json")
	data, _ := os.ReadFile(config)
	data = bytes.Replace(data, []byte("{"), []byte(`{"quantization_config": {"quant_method": "compressed-tensors"},`), 1)
	if err := os.WriteFile(config, data, 0o644); err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	r := runBinary(t, nil, append([]string{"--model", model, "--quant", "w8a16", "--output-dir", t.TempDir(), "--log-dir", logs, "--name", "w8a16"}, smallRollout...)...)
	want := "rollbench-inproc: w8a16 is not supported on this platform (cpu): vLLM has no int8 weight-only kernel for CPUs"
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, want 1 with %q:\n%s", r.code, want, lastLines(r.stderr, 10))
	}
	if strings.Contains(readFile(filepath.Join(logs, "w8a16.log")), "init engine") {
		t.Error("an engine was started for a refused quantization")
	}
}

func TestVLLMExceptionIsShown(t *testing.T) {
	model := filepath.Join(t.TempDir(), "broken")
	copyDir(t, tinyModel(t), model)
	// An architecture vLLM does not know fails inside LLM(...).
	config := filepath.Join(model, "config.json")
	data, _ := os.ReadFile(config)
	if err := os.WriteFile(config, bytes.ReplaceAll(data, []byte("Qwen3ForCausalLM"), []byte("NoSuchForCausalLM")), 0o644); err != nil {
		t.Fatal(err)
	}
	mark := marker(t)
	out := t.TempDir()
	r := runBinary(t, []string{mark}, append([]string{"--model", model, "--output-dir", out, "--name", "broken", "--verbose"}, smallRollout...)...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, lastLines(r.stderr, 30))
	}
	if !strings.Contains(r.stderr, "rollbench-inproc: load model "+model+": create vllm.LLM: ") ||
		!strings.Contains(r.stderr, "NoSuchForCausalLM") {
		t.Errorf("stderr lacks the exception's type and message:\n%s", lastLines(r.stderr, 30))
	}
	if !strings.Contains(r.stderr, "Traceback (most recent call last)") {
		t.Errorf("--verbose shows no traceback:\n%s", lastLines(r.stderr, 30))
	}
	var res struct{ Status, Error string }
	data, err := os.ReadFile(filepath.Join(out, "broken.json"))
	if err != nil || json.Unmarshal(data, &res) != nil || res.Status != "failed" || !strings.Contains(res.Error, "NoSuchForCausalLM") {
		t.Errorf("failed result not saved with its reason: %v %+v", err, res)
	}
	assertNoSurvivors(t, mark)
}

// tinyModel writes the built-in model once per test binary run.
func tinyModel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "rollbench-e2e-tiny-bf16-"+python.Digest())
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		return dir
	}
	r := runBinary(t, nil, "tiny-model", "--out", dir)
	if r.code != 0 {
		t.Fatalf("tiny-model: exit %d\n%s", r.code, r.stderr)
	}
	return dir
}

// baseInterpreter is the python the test environment's venv was made from:
// the same version, without vllm.
func baseInterpreter(t *testing.T) string {
	t.Helper()
	venvPython := os.Getenv("ROLLBENCH_PYTHON")
	cfg, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(venvPython)), "pyvenv.cfg"))
	if err != nil {
		t.Fatalf("ROLLBENCH_PYTHON %q is not in a venv: %v", venvPython, err)
	}
	for _, line := range strings.Split(string(cfg), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "home" {
			return filepath.Join(strings.TrimSpace(v), "python3")
		}
	}
	t.Fatal("pyvenv.cfg has no home")
	return ""
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

func lookup(m map[string]any, dotted string) any {
	var cur any = m
	for _, k := range strings.Split(dotted, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[k]
	}
	return cur
}

func near(a, b float64) bool { return a > 0 && (a-b)/b < 1e-9 && (b-a)/b < 1e-9 }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
