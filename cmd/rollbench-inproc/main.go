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
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		name := map[os.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[<-signals]
		fmt.Fprintf(os.Stderr, "rollbench-inproc: %s: stopping the engine (again to kill it)\n", name)
		cancel(fmt.Errorf("interrupted by %s", name))
		<-signals
		sys.KillTree(os.Getpid(), syscall.SIGKILL)
		os.Exit(130)
	}()
	show := progress.ForStderr(os.Stderr, "rollbench-inproc")
	err := run(progress.NewContext(ctx, show), os.Args[1:], reserveStdout(), os.Stderr)
	show.Close()
	// Whatever happened, no engine process outlives this one.
	sys.KillTree(os.Getpid(), syscall.SIGKILL)
	os.Exit(exitCode(err, os.Stderr))
}

// reserveStdout keeps the process's standard output for rollbench's own
// output and points file descriptor 1 at standard error, which children
// inherit: vLLM's engine processes and the Python code in this one print
// diagnostics (the torch profiler's operator tables among them) to their
// standard output, where they would mix with the results.
func reserveStdout() *os.File {
	fd, err := syscall.Dup(1)
	if err != nil {
		return os.Stdout
	}
	if err := syscall.Dup3(2, 1, 0); err != nil {
		syscall.Close(fd)
		return os.Stdout
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "/dev/stdout")
}

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
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}
