package sys

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
)

// outputHelper is the process TestRedirectOutput runs: this test binary
// again, with the environment variable naming the log.
const outputHelper = "ROLLBENCH_TEST_OUTPUT_LOG"

// crashHelper makes the helper panic once its output is redirected, as
// main sets it up.
const crashHelper = "ROLLBENCH_TEST_OUTPUT_CRASH"

func TestMain(m *testing.M) {
	if log := os.Getenv(outputHelper); log != "" {
		if os.Getenv(crashHelper) != "" {
			crash(log)
		}
		os.Exit(redirectAndPrint(log))
	}
	os.Exit(m.Run())
}

func crash(log string) {
	_, stderr := KeepStdio()
	_ = debug.SetCrashOutput(stderr, debug.CrashOptions{})
	if err := RedirectOutput(log); err != nil {
		os.Exit(3)
	}
	panic("rollbench broke")
}

// redirectAndPrint prints through every descriptor a run has: the kept
// ones, the redirected ones and a child's.
func redirectAndPrint(log string) int {
	stdout, stderr := KeepStdio()
	fmt.Fprintln(os.Stdout, "engine stdout before")
	if err := RedirectOutput(log); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(os.Stdout, "engine stdout")
	fmt.Fprintln(os.Stderr, "engine stderr")
	for _, f := range []*os.File{stdout, stderr} {
		// Kept from every child, even one started without closing what
		// it inherits.
		if flags, _, _ := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_GETFD, 0); flags&syscall.FD_CLOEXEC == 0 {
			fmt.Fprintf(stderr, "%s is inherited\n", f.Name())
			return 1
		}
	}
	child := exec.Command("sh", "-c", "echo child stdout; echo child stderr >&2")
	child.Stdout, child.Stderr = os.Stdout, os.Stderr
	if err := child.Run(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, "own stdout")
	fmt.Fprintln(stderr, "own stderr")
	return 0
}

func TestRedirectOutput(t *testing.T) {
	log := filepath.Join(t.TempDir(), "engine.log")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), outputHelper+"="+log)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	// Before the redirection the engine's stdout already went to stderr.
	if got, want := stdout.String(), "own stdout\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := stderr.String(), "engine stdout before\nown stderr\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), "engine stdout\nengine stderr\nchild stdout\nchild stderr\n"; got != want {
		t.Errorf("log = %q, want %q", got, want)
	}
}

// TestCrashReachesTheUser: a Go panic after the redirection is shown on the
// kept standard error, not only in the engine log.
func TestCrashReachesTheUser(t *testing.T) {
	log := filepath.Join(t.TempDir(), "engine.log")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), outputHelper+"="+log, crashHelper+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("the crash exited 0")
	}
	if !strings.Contains(stderr.String(), "panic: rollbench broke") {
		t.Errorf("stderr lacks the panic:\n%s", stderr.String())
	}
}
