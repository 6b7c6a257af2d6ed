//go:build e2e

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// TestSyncSamplesOnTerminal runs a sync rollout with rollbench's stderr on
// a pseudo-terminal, as a person at a terminal sees it: a redrawn status
// line, the generate phase ending with every sample counted by vLLM's own
// loop (through rollbench.progress.SampleCounter), none of the engine's
// lines, and a result that says the counter was on.
func TestSyncSamplesOnTerminal(t *testing.T) {
	mark := marker(t)
	dir := t.TempDir()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), append([]string{"--output-dir", dir, "--log-dir", dir, "--name", "tty"}, smallRollout...)...)
	cmd.Env = append(os.Environ(), mark)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child has it
	var screen bytes.Buffer
	// Reading the terminal ends with EIO once the last process holding
	// its other side exits.
	if _, err := io.Copy(&screen, ptmx); err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	err = cmd.Wait()
	shown := screen.String()
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nterminal:\n%s\nengine log:\n%s", err, stdout.String(), lastLines(shown, 20), lastLines(readFile(filepath.Join(dir, "tty.log")), 30))
	}
	assertNoSurvivors(t, mark)
	if !strings.Contains(shown, "\r\x1b[K") {
		t.Errorf("the status line is not redrawn:\n%q", lastLines(shown, 10))
	}
	// The phase's record once it ends: its time and the samples done.
	if !regexp.MustCompile(`\r\x1b\[K  generate +\d+\.\d s  6/6 samples\r?\n`).MatchString(shown) {
		t.Errorf("the generate phase does not end with 6/6 samples:\n%q", shown)
	}
	if strings.Contains(shown, " pid=") || strings.Contains(shown, "INFO") {
		t.Errorf("the engine's lines reached the terminal:\n%s", lastLines(shown, 20))
	}
	res := readResult(t, filepath.Join(dir, "tty.json"))
	if res["status"] != "ok" || res["progress_hook"] != true || lookup(res, "tokens.sequences") != 6.0 {
		t.Errorf("result: status %v, progress_hook %v, sequences %v; want ok, true, 6", res["status"], res["progress_hook"], lookup(res, "tokens.sequences"))
	}
}

// TestMatrixEngineCannotStart runs a matrix whose only model has a
// corrupted weights file: vLLM reports its engine core's failure as a
// symptom, and summary.txt, the result and the matrix's error name the
// real cause, which the experiment's log holds. It fails at the engine's
// start, with no full load.
func TestMatrixEngineCannotStart(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "corrupt")
	copyDir(t, tinyModel(t), model)
	if err := os.Truncate(filepath.Join(model, "model.safetensors"), 4096); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "models.yaml")
	if err := os.WriteFile(cfg, []byte("models:\n  - name: corrupt\n    quantizations:\n      bf16: {path: "+model+"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, logs := filepath.Join(dir, "results"), filepath.Join(dir, "logs")
	mark := marker(t)
	r := runBinary(t, []string{mark}, append([]string{"--config", cfg, "--quants", "bf16", "--output-dir", out, "--log-dir", logs}, smallRollout...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "1 of 1 experiments failed") {
		t.Fatalf("exit %d, want 1 with the experiment failed\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, lastLines(r.stderr, 20))
	}
	assertNoSurvivors(t, mark)
	const cause = "root cause in Worker: safetensors._safetensors_rust.SafetensorError: Error while deserializing header"
	summary := readFile(filepath.Join(out, "summary.txt"))
	if !strings.Contains(summary, cause) {
		t.Errorf("summary.txt lacks %q:\n%s", cause, summary)
	}
	res := readResult(t, filepath.Join(out, "corrupt_bf16.json"))
	log := filepath.Join(logs, "corrupt_bf16.log")
	if e, _ := res["error"].(string); res["status"] != "failed" || !strings.Contains(e, "Engine core initialization failed") || !strings.Contains(e, cause) {
		t.Errorf("result: status %v, error %q; want failed with vLLM's symptom and %q", res["status"], e, cause)
	}
	if res["log"] != log || !strings.Contains(readFile(log), "Traceback (most recent call last)") {
		t.Errorf("result's log %v, want %s with the engine's tracebacks", res["log"], log)
	}
}
