//go:build e2e

package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// matrixConfig is the tiny model in both its variants, and a model whose
// checkpoint is missing.
const matrixConfig = `models:
  - name: tiny
    quantizations:
      bf16: {path: builtin}
      w8a8: {path: builtin}
  - name: broken
    quantizations:
      bf16: {path: /nonexistent/broken-checkpoint}
`

func readResult(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// TestMatrixOnTinyModel runs the matrix of matrixConfig on verl's parquet
// prompts with three measured passes per experiment: the matrix's progress,
// statuses, summaries and --resume, and the dataset's prompts, the
// intervals, --repeat auto stopping at its most passes, the A/A run (--aa)
// and the significance marks (checkDatasetRepeat), and the mismatch of the
// scored rows against the BF16 reference (--mismatch, checkMismatch), from
// three engine loads.
func TestMatrixOnTinyModel(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "models.yaml")
	if err := os.WriteFile(cfg, []byte(matrixConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	out, logs := filepath.Join(dir, "results"), filepath.Join(dir, "logs")
	args := append([]string{"--config", cfg, "--output-dir", out, "--log-dir", logs, "--aa", "--mismatch"}, datasetRepeatRollout...)
	mark := marker(t)
	r := runBinary(t, []string{mark}, args...)
	// One experiment failed, so the matrix reports failure, after running
	// the rest.
	if r.code != 1 || !strings.Contains(r.stderr, "1 of 7 experiments failed") {
		t.Fatalf("exit %d, want 1 with one failure\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, lastLines(r.stderr, 20))
	}
	assertNoSurvivors(t, mark)
	for _, want := range []string{
		"[1/7] tiny_bf16: running", "[1/7] tiny_bf16: ok,",
		"[2/7] tiny_w8a16: skipped: w8a16 is not configured for tiny",
		"[3/7] tiny_w8a8: ok,",
		"[4/7] tiny_bf16_aa: ok,",
		"[5/7] broken_bf16: failed: model path /nonexistent/broken-checkpoint: no such directory",
		"[6/7] broken_w8a16: skipped: w8a16 is not configured for broken",
		"ETA",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("progress lacks %q:\n%s", want, r.stdout)
		}
	}
	status := map[string]string{"tiny_bf16": "ok", "tiny_w8a8": "ok", "tiny_w8a16": "skipped", "tiny_bf16_aa": "ok",
		"broken_bf16": "failed", "broken_w8a16": "skipped", "broken_w8a8": "skipped"}
	for name, want := range status {
		res := readResult(t, filepath.Join(out, name+".json"))
		if res["status"] != want {
			t.Errorf("%s: status %v (%v), want %s", name, res["status"], res["error"], want)
		}
	}
	w8a8 := readResult(t, filepath.Join(out, "tiny_w8a8.json"))
	if lookup(w8a8, "tokens.output_tokens") != 4*2*16.0 || lookup(w8a8, "spec.engine.quant") != "w8a8" {
		t.Errorf("w8a8 result: tokens %v, quant %v", lookup(w8a8, "tokens.output_tokens"), lookup(w8a8, "spec.engine.quant"))
	}
	// The engine's own output is in the experiment's log, and the W8A8 run
	// used vLLM's int8 kernels.
	log, err := os.ReadFile(filepath.Join(logs, "tiny_w8a8.log"))
	if err != nil || !strings.Contains(string(log), "CompressedTensorsW8A8Int8") {
		t.Errorf("tiny_w8a8.log does not show the int8 compressed-tensors scheme (%v)", err)
	}

	data, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := strings.Join(strings.Fields(string(data)), " ") // cells are padded
	for _, want := range []string{"| tiny | bf16 | ok |", "(baseline)", "| tiny | bf16 (A/A) | ok |", "| tiny | w8a16 | skipped |", "| broken | bf16 | failed |", "no such directory"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	if !regexp.MustCompile(`\| tiny \| w8a8 \| ok \|.*\| \d+\.\d\dx( \^| v| ~)?( \\\[[^]]+\] p=\S+)? \|`).MatchString(md) {
		t.Errorf("summary.md has no speedup for w8a8:\n%s", md)
	}
	for _, f := range []string{"summary.txt", "summary.csv"} {
		if data, err := os.ReadFile(filepath.Join(out, f)); err != nil || !strings.Contains(string(data), "w8a8") {
			t.Errorf("%s: %v", f, err)
		}
	}

	checkDatasetRepeat(t, out)
	checkMismatch(t, out, dir)

	// Again with --resume: the complete results are kept, nothing runs.
	before := readResult(t, filepath.Join(out, "tiny_bf16.json"))["started_at"]
	start := time.Now()
	r = runBinary(t, []string{mark}, append(args, "--models", "tiny", "--resume")...)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", r.code, r.stdout, lastLines(r.stderr, 20))
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("resume took %v: something ran", took)
	}
	if n := strings.Count(r.stdout, "complete in an earlier run, kept"); n != 3 || strings.Contains(r.stdout, ": running (log") {
		t.Errorf("resume progress:\n%s", r.stdout)
	}
	if after := readResult(t, filepath.Join(out, "tiny_bf16.json"))["started_at"]; after != before {
		t.Errorf("tiny_bf16 result was rewritten: %v -> %v", before, after)
	}
}

func TestMatrixSignalLeavesNoEngineBehind(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			out, logs := filepath.Join(dir, "results"), filepath.Join(dir, "logs")
			mark := marker(t)
			cmd := exec.Command(binary(t), "--config", "../../configs/tiny.yaml", "--quants", "bf16",
				"--output-dir", out, "--log-dir", logs, "--num-prompts", "64", "--input-len", "128",
				"--output-len", "512", "--enforce-eager", "--kv-cache-memory", "1GiB")
			cmd.Env = append(os.Environ(), mark)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			// Signal once the child is generating.
			deadline := time.Now().Add(5 * time.Minute)
			for {
				log, _ := os.ReadFile(filepath.Join(logs, "tiny_bf16.log"))
				if strings.Contains(string(log), "rollbench-inproc: phase generate") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the experiment never generated:\n%s", lastLines(string(log), 20))
				}
				time.Sleep(500 * time.Millisecond)
			}
			start := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if want := 128 + int(sig); !errors.As(err, &exit) || exit.ExitCode() != want {
				t.Errorf("interrupted matrix: %v, want exit status %d", err, want)
			}
			if took := time.Since(start); took > 60*time.Second {
				t.Errorf("stopping took %v", took)
			}
			assertNoSurvivors(t, mark)
			res := readResult(t, filepath.Join(out, "tiny_bf16.json"))
			if res["status"] != "failed" || !strings.Contains(res["error"].(string), "interrupted by "+map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]) {
				t.Errorf("result after %v: status %v, error %v", sig, res["status"], res["error"])
			}
		})
	}
}

func TestDiagnostic(t *testing.T) {
	mark := marker(t)
	out := t.TempDir()
	r := runBinary(t, []string{mark}, "--diagnostic", "--output-dir", out, "--log-dir", out, "--input-len", "32", "--output-len", "16",
		"-n", "2", "--enforce-eager", "--kv-cache-memory", "1GiB")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, lastLines(r.stderr, 30))
	}
	for _, want := range []string{"[ ok ] model: the built-in tiny model", "[ ok ] interpreter: ", "[ ok ] vllm 0.", "platform cpu",
		"[ ok ] benchmark runs: 4 prompts x n=2", "[ ok ] result saved: " + filepath.Join(out, "diagnostic_tiny_bf16.json")} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("checklist lacks %q:\n%s", want, r.stdout)
		}
	}
	assertNoSurvivors(t, mark)

	// A python without vllm fails at that step, saying what to do.
	r = runBinary(t, nil, "--diagnostic", "--python", baseInterpreter(t), "--output-dir", out, "--log-dir", out)
	if r.code != 1 || !strings.Contains(r.stdout, "[FAIL] vllm import: ") || !strings.Contains(r.stdout, "install vLLM") {
		t.Errorf("diagnostic without vllm: exit %d\n%s", r.code, r.stdout)
	}
}
