// Command rollbench-inproc measures an RL rollout step on vLLM from inside
// the process: it embeds CPython, drives vllm.LLM directly and times
// LLM.generate from Go.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/internal/sys"
)

// Set at build time (Makefile): the interpreter the binary was linked
// against, and the version.
var (
	defaultPython = ""
	version       = "dev"
)

func main() {
	stdout, stderr := sys.KeepStdio()
	// Whatever becomes of file descriptor 2 (the engine's log), a crash
	// reaches the user.
	_ = debug.SetCrashOutput(stderr, debug.CrashOptions{})
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		name := map[os.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[<-signals]
		fmt.Fprintf(stderr, "rollbench-inproc: %s: stopping the engine (again to kill it)\n", name)
		cancel(fmt.Errorf("interrupted by %s", name))
		<-signals
		sys.KillTree(os.Getpid(), syscall.SIGKILL)
		os.Exit(130)
	}()
	show := progress.ForStderr(stderr, "rollbench-inproc")
	err := run(progress.NewContext(ctx, show), os.Args[1:], stdout, stderr)
	show.Close()
	// Whatever happened, no engine process outlives this one.
	sys.KillTree(os.Getpid(), syscall.SIGKILL)
	os.Exit(exitCode(err, stderr))
}

// tailLines are the lines of the engine log a failure shows.
const tailLines = 20

// usageError is a problem with the command line; it exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	// One line per problem; validation may report several.
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "rollbench-inproc: %s\n", line)
	}
	var l engineLogged
	if errors.As(err, &l) {
		for _, line := range sys.TailLines(l.log, tailLines) {
			fmt.Fprintf(stderr, "    %s\n", line)
		}
	}
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}
