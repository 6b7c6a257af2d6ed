//go:build e2e

package main

// Faults a user meets, on real vLLM: a signal in each phase, an engine
// core killed by the kernel, rollbench itself killed, a matrix child
// killed. Each run must end in time, say why in its result, and leave no
// process behind, by ancestry (the tree taken before the fault) and by
// the marker every child inherits.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rollbench/rollbench/internal/sys"
)

// faultRollout keeps the engine generating long enough, 64 prompts x n=8
// with 128 + 512 tokens, to be disturbed in generate on a fast host.
var faultRollout = []string{"--num-prompts", "64", "-n", "8", "--input-len", "128", "--output-len", "512",
	"--max-model-len", "768", "--enforce-eager", "--kv-cache-memory", "1GiB"}

// stopWithin is how soon a disturbed run must end.
const stopWithin = 30 * time.Second

// faultRun is a run of the binary that a test disturbs as it goes: its
// output is read as it comes, so that the test can act on a phase.
type faultRun struct {
	t    *testing.T
	cmd  *exec.Cmd
	mark string
	// out and logs are the run's output and log directories.
	out, logs string

	mu     sync.Mutex
	log    strings.Builder // stdout and stderr, line by line
	grew   chan struct{}   // closed and renewed when a line arrives
	exited chan struct{}
	err    error
}

func startFault(t *testing.T, args ...string) *faultRun {
	t.Helper()
	f := &faultRun{t: t, mark: marker(t), out: t.TempDir(), logs: t.TempDir(), grew: make(chan struct{}), exited: make(chan struct{})}
	f.cmd = exec.Command(binary(t), append([]string{"--output-dir", f.out, "--log-dir", f.logs}, args...)...)
	f.cmd.Env = append(os.Environ(), f.mark)
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := f.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var readers sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			f.read(r)
		}()
	}
	go func() {
		readers.Wait()
		f.err = f.cmd.Wait()
		close(f.exited)
	}()
	t.Cleanup(func() {
		// A failed test leaves nothing running for the next one.
		_ = f.cmd.Process.Kill()
		killMarked(f.mark)
	})
	return f
}

func (f *faultRun) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f.mu.Lock()
		f.log.WriteString(sc.Text() + "\n")
		close(f.grew)
		f.grew = make(chan struct{})
		f.mu.Unlock()
	}
}

func (f *faultRun) output() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.log.String()
}

// waitLine waits until the run prints a line that holds s.
func (f *faultRun) waitLine(s string, within time.Duration) {
	f.t.Helper()
	deadline := time.After(within)
	for {
		f.mu.Lock()
		seen, grew := strings.Contains(f.log.String(), s), f.grew
		f.mu.Unlock()
		if seen {
			return
		}
		select {
		case <-grew:
		case <-f.exited:
			f.t.Fatalf("exited before printing %q:\n%s", s, lastLines(f.output(), 30))
		case <-deadline:
			f.t.Fatalf("no %q within %v:\n%s", s, within, lastLines(f.output(), 30))
		}
	}
}

// waitExit waits for the run to end, at most within after since, and
// returns its exit status.
func (f *faultRun) waitExit(since time.Time, within time.Duration) int {
	f.t.Helper()
	select {
	case <-f.exited:
	case <-time.After(time.Until(since.Add(within))):
		f.t.Fatalf("still running %v after the fault:\n%s", within, lastLines(f.output(), 30))
	}
	f.t.Logf("ended %.1f s after the fault", time.Since(since).Seconds())
	var exit *exec.ExitError
	if errors.As(f.err, &exit) {
		return exit.ExitCode()
	}
	if f.err != nil {
		f.t.Fatal(f.err)
	}
	return 0
}

// signal sends sig to the run.
func (f *faultRun) signal(sig syscall.Signal) time.Time {
	f.t.Helper()
	if err := f.cmd.Process.Signal(sig); err != nil {
		f.t.Fatal(err)
	}
	return time.Now()
}

// tree is the run's process and its descendants, as they are now.
func (f *faultRun) tree() []proc { return treeOf(f.t, f.cmd.Process.Pid) }

// waitProc waits for a process of the run's tree whose command line holds
// s, and returns it.
func (f *faultRun) waitProc(s string, within time.Duration) proc {
	f.t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, p := range f.tree() {
			if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid)); bytes.Contains(cmdline, []byte(s)) {
				return p
			}
		}
	}
	f.t.Fatalf("no process %q within %v:\n%s", s, within, lastLines(f.output(), 30))
	return proc{}
}

// killInGenerate kills the run's process whose command line holds name
// with SIGKILL a second into the measured generate, and checks that the
// run fails at once and leaves nothing behind. It returns the process.
func (f *faultRun) killInGenerate(name string) proc {
	f.t.Helper()
	f.waitLine("rollbench-inproc: phase generate", 8*time.Minute)
	time.Sleep(time.Second)
	victim := f.waitProc(name, time.Second)
	tree := f.tree()
	if err := syscall.Kill(victim.pid, syscall.SIGKILL); err != nil {
		f.t.Fatal(err)
	}
	at := time.Now()
	if code := f.waitExit(at, stopWithin); code != 1 {
		f.t.Errorf("exit %d, want 1:\n%s", code, lastLines(f.output(), 20))
	}
	assertGone(f.t, tree, f.mark, 10*time.Second)
	return victim
}

// failedResult reads the run's result, which must say it failed because
// of cause.
func (f *faultRun) failedResult(name, cause string) {
	f.t.Helper()
	checkFailed(f.t, f.out, name, cause)
}

func checkFailed(t *testing.T, dir, name, cause string) {
	t.Helper()
	// A failed run's record, beside a complete one or in its place.
	path := filepath.Join(dir, name+".failed.json")
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(dir, name+".json")
	}
	res := readResult(t, path)
	if errText, _ := res["error"].(string); res["status"] != "failed" || !strings.Contains(errText, cause) {
		t.Errorf("%s: status %v, error %q; want failed with %q", path, res["status"], errText, cause)
	}
}

// proc is a process as it was when seen: a pid, reused later, is another
// process when its start time differs.
type proc struct {
	pid         int
	name, start string
}

func treeOf(t *testing.T, pid int) []proc {
	t.Helper()
	var out []proc
	for _, pid := range append([]int{pid}, sys.Descendants(pid)...) {
		if p, ok := readProc(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// readProc reads a living process's name and start time (the 22nd field
// of its stat).
func readProc(pid int) (proc, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	fields := strings.Fields(s[end+1:])
	if open < 0 || end < open || len(fields) < 20 || fields[0] == "Z" {
		return proc{}, false
	}
	return proc{pid: pid, name: s[open+1 : end], start: fields[19]}, true
}

// assertGone fails unless every process of tree has died within d, and
// no process carries mark (when given).
func assertGone(t *testing.T, tree []proc, mark string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var alive []string
		for _, p := range tree {
			if now, ok := readProc(p.pid); ok && now.start == p.start {
				alive = append(alive, fmt.Sprintf("%d %s", p.pid, p.name))
			}
		}
		if mark != "" {
			alive = append(alive, survivors(mark)...)
		}
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("alive %v after the run: %q", d, alive)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func killMarked(mark string) {
	for _, s := range survivors(mark) {
		if pid, err := strconv.Atoi(s[:strings.IndexByte(s, ':')]); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// TestSignalDuringLoad sends SIGINT two seconds after the engine core
// process started, before its handshake: vLLM's zmq_socket_ctx swallowed
// that KeyboardInterrupt, and the run waited ten minutes for an engine that
// waited five for it.
func TestSignalDuringLoad(t *testing.T) {
	f := startFault(t, append([]string{"--name", "load"}, smallRollout...)...)
	f.waitLine("rollbench-inproc: phase load", 5*time.Minute)
	f.waitProc("multiprocessing.spawn", 5*time.Minute)
	time.Sleep(2 * time.Second)
	tree := f.tree()
	at := f.signal(syscall.SIGINT)
	if code := f.waitExit(at, stopWithin); code != 130 {
		t.Errorf("exit %d, want 130:\n%s", code, lastLines(f.output(), 20))
	}
	assertGone(t, tree, f.mark, 5*time.Second)
	f.failedResult("load", "interrupted by SIGINT during load")
	if !strings.Contains(f.output(), "rollbench-inproc: load model ") {
		t.Errorf("no error line:\n%s", lastLines(f.output(), 10))
	}
}

// TestSignalDuringGenerate replaces the test that slept 5 s after the
// engine came up.
func TestSignalDuringGenerate(t *testing.T) {
	f := startFault(t, append([]string{"--name", "generate"}, faultRollout...)...)
	f.waitLine("rollbench-inproc: phase generate", 5*time.Minute)
	time.Sleep(time.Second)
	tree := f.tree()
	at := f.signal(syscall.SIGINT)
	if code := f.waitExit(at, stopWithin); code != 130 {
		t.Errorf("exit %d, want 130:\n%s", code, lastLines(f.output(), 20))
	}
	assertGone(t, tree, f.mark, 5*time.Second)
	f.failedResult("generate", "interrupted by SIGINT during generate: generate: KeyboardInterrupt")
}

// TestSignalDuringTeardown sends SIGTERM as the teardown begins: the
// teardown completes, the figures stay in the result, which failed.
func TestSignalDuringTeardown(t *testing.T) {
	f := startFault(t, append([]string{"--name", "teardown"}, smallRollout...)...)
	f.waitLine("rollbench-inproc: phase teardown", 5*time.Minute)
	tree := f.tree()
	at := f.signal(syscall.SIGTERM)
	if code := f.waitExit(at, stopWithin); code != 143 {
		t.Errorf("exit %d, want 143:\n%s", code, lastLines(f.output(), 20))
	}
	assertGone(t, tree, f.mark, 5*time.Second)
	f.failedResult("teardown", "interrupted by SIGTERM during teardown")
}

// TestEngineCoreKilledDuringGenerate kills the engine core as the kernel's
// OOM killer would: vLLM's client marks it dead and leaves generate
// waiting for ever; rollbench must notice, say which process died, and
// exit 1.
func TestEngineCoreKilledDuringGenerate(t *testing.T) {
	f := startFault(t, append([]string{"--name", "core"}, faultRollout...)...)
	core := f.killInGenerate("VLLM::EngineCore")
	cause := fmt.Sprintf("engine core (VLLM::EngineCore, pid %d) killed by SIGKILL", core.pid)
	f.failedResult("core", cause)
	if !strings.Contains(f.output(), "rollbench-inproc: "+cause) {
		t.Errorf("the error line does not name the engine core:\n%s", lastLines(f.output(), 10))
	}
}

// TestKillOfRollbench kills rollbench itself: its engine core, worker and
// resource tracker, left to init, must die with it.
func TestKillOfRollbench(t *testing.T) {
	f := startFault(t, append([]string{"--name", "killed"}, faultRollout...)...)
	f.waitLine("rollbench-inproc: phase generate", 5*time.Minute)
	tree := f.tree()
	if len(tree) < 4 {
		t.Fatalf("the run's tree %v lacks its engine processes", tree)
	}
	at := f.signal(syscall.SIGKILL)
	f.waitExit(at, stopWithin)
	assertGone(t, tree, f.mark, 5*time.Second)
}

// TestMatrixChildKilled kills the first experiment's child during its
// load: the second experiment runs and stands, the first is failed with
// the reason, none of its tree is left, and --resume runs only it again.
func TestMatrixChildKilled(t *testing.T) {
	args := append([]string{"--config", "../../configs/tiny.yaml", "--quants", "bf16,w8a8"}, smallRollout...)
	f := startFault(t, args...)
	f.waitLine("[1/2] tiny_bf16: running", time.Minute)
	child := f.waitProc("run-experiment", time.Minute)
	// Once its engine core is up and loading, the tree to clean up is
	// whole.
	f.waitProc("VLLM::EngineCore", 5*time.Minute)
	killed := treeOf(t, child.pid)
	if err := syscall.Kill(child.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	assertGone(t, killed, "", 5*time.Second)
	f.waitLine("[2/2] tiny_w8a8: ", time.Minute)
	if code := f.waitExit(time.Now(), 5*time.Minute); code != 1 {
		t.Errorf("exit %d, want 1 with one failure:\n%s", code, lastLines(f.output(), 20))
	}
	assertGone(t, f.tree(), f.mark, 5*time.Second)
	const reason = "the experiment process was killed by SIGKILL without a result"
	if !strings.Contains(f.output(), "[1/2] tiny_bf16: failed in ") || !strings.Contains(f.output(), reason) {
		t.Errorf("progress does not say why tiny_bf16 failed:\n%s", f.output())
	}
	checkFailed(t, f.out, "tiny_bf16", reason)
	w8a8 := readResult(t, filepath.Join(f.out, "tiny_w8a8.json"))
	if w8a8["status"] != "ok" {
		t.Fatalf("tiny_w8a8: status %v (%v)", w8a8["status"], w8a8["error"])
	}

	r := runBinary(t, []string{f.mark}, append([]string{"--output-dir", f.out, "--log-dir", f.logs, "--resume"}, args...)...)
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", r.code, r.stdout, lastLines(r.stderr, 20))
	}
	if !strings.Contains(r.stdout, "[1/2] tiny_bf16: running") || !strings.Contains(r.stdout, "[2/2] tiny_w8a8: complete in an earlier run, kept") {
		t.Errorf("resume ran more or less than the killed experiment:\n%s", r.stdout)
	}
	if res := readResult(t, filepath.Join(f.out, "tiny_bf16.json")); res["status"] != "ok" {
		t.Errorf("tiny_bf16 after resume: status %v (%v)", res["status"], res["error"])
	}
	if again := readResult(t, filepath.Join(f.out, "tiny_w8a8.json")); again["started_at"] != w8a8["started_at"] {
		t.Errorf("tiny_w8a8 was run again")
	}
	assertNoSurvivors(t, f.mark)
}
