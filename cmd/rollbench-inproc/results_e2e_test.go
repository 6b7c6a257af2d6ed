//go:build e2e

package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rollbench/rollbench/internal/sys"
)

// TestNoResultLost checks on real vLLM that a measurement survives an
// output directory gone bad during the run, and that a complete result
// survives a later run of the same name: refused while another holds the
// name, interrupted, or both. The first run's rescued result serves as the
// complete one of the second subtest, so that two engine loads do for both.
func TestNoResultLost(t *testing.T) {
	var complete []byte
	t.Run("full output filesystem", func(t *testing.T) {
		mark := marker(t)
		dir := t.TempDir()
		out := filepath.Join(dir, "results")
		run := startBinary(t, mark, append([]string{"--output-dir", out, "--log-dir", dir, "--name", "kept"}, smallRollout...)...)
		waitForEngine(t, run)
		// The run cannot write its result: its directory is now a file.
		if err := os.Rename(out, out+".moved"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		r := run.wait(t)
		assertNoSurvivors(t, mark)
		if r.code != 1 {
			t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, lastLines(r.stderr, 20))
		}
		line := regexp.MustCompile(`(?m)^rollbench-inproc: write result ` + regexp.QuoteMeta(filepath.Join(out, "kept.json")) +
			`: mkdir ` + regexp.QuoteMeta(out) + `: not a directory; the result is saved in (\S+) instead$`).FindStringSubmatch(r.stderr)
		if line == nil {
			t.Fatalf("stderr does not name the fallback file:\n%s", lastLines(r.stderr, 10))
		}
		fallback := line[1]
		t.Cleanup(func() { os.Remove(fallback) })
		if filepath.Dir(fallback) != os.TempDir() {
			t.Errorf("fallback file %s is not in %s", fallback, os.TempDir())
		}
		res := readResult(t, fallback)
		checkSmallRun(t, r, res, true)
		if v, _ := lookup(res, "throughput.output_tokens_per_second").(float64); v <= 0 {
			t.Errorf("throughput.output_tokens_per_second = %v", v)
		}
		if !strings.Contains(r.stdout, "result      "+fallback) {
			t.Errorf("the summary does not say where the result is:\n%s", r.stdout)
		}
		complete, _ = os.ReadFile(fallback)
	})

	t.Run("interrupted next to a complete result", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "results")
		args := append([]string{"--output-dir", out, "--log-dir", dir, "--name", "kept"}, smallRollout...)
		path := filepath.Join(out, "kept.json")
		if complete == nil { // run alone
			mark := marker(t)
			if r := runBinary(t, []string{mark}, args...); r.code != 0 {
				t.Fatalf("the first run: exit %d\n%s", r.code, lastLines(r.stderr, 20))
			}
			assertNoSurvivors(t, mark)
		} else if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		} else if err := os.WriteFile(path, complete, 0o644); err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}

		mark := marker(t)
		second := startBinary(t, mark, args...)
		engineUp := waitForEngine(t, second)

		// A third run of the name, while the second loads, is refused at
		// once, before anything loads.
		third := marker(t)
		began := time.Now()
		r := runBinary(t, []string{third}, args...)
		took := time.Since(began)
		want := regexp.MustCompile(`^rollbench-inproc: kept in ` + regexp.QuoteMeta(out) + ` is being written by another run \(pid ` +
			strconv.Itoa(second.Process.Pid) + `, started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\n$`)
		if r.code != 1 || !want.MatchString(r.stderr) || r.stdout != "" {
			t.Errorf("the third run: exit %d, stdout %q, stderr:\n%s\nwant exit 1 and one line matching %s", r.code, r.stdout, lastLines(r.stderr, 10), want)
		}
		t.Logf("the third run refused in %v", took.Round(time.Millisecond))
		if took > 10*time.Second {
			t.Errorf("the third run took %v to refuse; an engine loads in longer", took)
		}
		assertNoSurvivors(t, third)

		// Interrupted during its load: the engine core has done its
		// handshake a few seconds after it took its name, and is loading.
		time.Sleep(time.Until(engineUp.Add(5 * time.Second)))
		if err := second.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		interrupted := time.Now()
		r = second.wait(t)
		t.Logf("the interrupted run stopped in %v", time.Since(interrupted).Round(time.Second))
		assertNoSurvivors(t, mark)
		failed := filepath.Join(out, "kept.failed.json")
		if r.code == 0 || !strings.Contains(r.stderr, "(result saved to "+failed+"; engine log "+filepath.Join(dir, "kept.log")+")") {
			t.Errorf("the interrupted run: exit %d, stderr:\n%s\nwant a failure saved to %s", r.code, lastLines(r.stderr, 10), failed)
		}
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
			t.Errorf("the complete result changed: %v", err)
		}
		res := readResult(t, failed)
		e, _ := res["error"].(string)
		if res["status"] != "failed" || !strings.Contains(e, "interrupted by SIGINT") {
			t.Errorf("%s: status %v, error %q; want failed, interrupted by SIGINT", failed, res["status"], e)
		}
		t.Logf("the interrupted run's error: %s", e)
		if _, err := os.Stat(filepath.Join(out, "kept.lock")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("kept.lock left behind: %v", err)
		}

		r = runBinary(t, nil, "summarize", out)
		rows := regexp.MustCompile(`(?m)^tiny +bf16 +(\S+)`).FindAllStringSubmatch(r.stdout, -1)
		if r.code != 0 || len(rows) != 1 || rows[0][1] != "ok" {
			t.Errorf("summarize: exit %d, want one ok row for tiny bf16:\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}

// startBinary starts the binary with args, marked by mark; it is killed
// at the end of the test if still running.
func startBinary(t *testing.T, mark string, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	s := startCommand(ctx, t, binary(t), []string{mark}, args...)
	t.Cleanup(func() {
		if s.ProcessState == nil {
			_ = s.Process.Kill()
			_ = s.Wait()
		}
	})
	return s
}

// waitForEngine waits until the run has an engine core process that named
// itself, and returns when it saw it. It looks below the run: a process
// that sets its title overwrites the environment the marker is found in.
func waitForEngine(t *testing.T, s *started) time.Time {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, p := range sys.Descendants(s.Process.Pid) {
			if title, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline"); bytes.HasPrefix(title, []byte("VLLM::EngineCore")) {
				return time.Now()
			}
		}
		// Exited, not yet waited for.
		if stat, err := os.ReadFile("/proc/" + strconv.Itoa(s.Process.Pid) + "/stat"); err != nil || bytes.Contains(stat, []byte(") Z ")) {
			break
		}
	}
	t.Fatalf("no engine core came up:\n%s", lastLines(s.stderr.String(), 20))
	return time.Time{}
}
