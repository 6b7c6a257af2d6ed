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
	"github.com/rollbench/rollbench/internal/supervise"
	"github.com/rollbench/rollbench/internal/sys"
)

// Set at build time (Makefile): the interpreter the binary was linked
// against, and the version.
var (
	defaultPython = ""
	version       = "dev"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == supervise.WatchdogCommand {
		supervise.Watchdog(os.Args[2], os.Stdin)
		return
	}
	stdout, stderr := sys.KeepStdio()
	// Whatever becomes of file descriptor 2 (the engine's log), a crash
	// reaches the user.
	_ = debug.SetCrashOutput(stderr, debug.CrashOptions{})
	sup, err := superviseSelf()
	if err != nil {
		fmt.Fprintf(stderr, "rollbench-inproc: %v\n", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	show := progress.ForStderr(stderr, "rollbench-inproc")
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := (<-signals).(syscall.Signal)
		show.Clear()
		fmt.Fprintf(stderr, "rollbench-inproc: %s: stopping the run (again to kill it)\n", sys.SignalName(sig))
		cancel(interrupted{sig, show.Current()})
		sig = (<-signals).(syscall.Signal)
		show.Clear()
		fmt.Fprintf(stderr, "rollbench-inproc: %s again: killed the run's processes\n", sys.SignalName(sig))
		sup.Kill()
		os.Exit(128 + int(sig))
	}()
	err = run(progress.NewContext(ctx, show), os.Args[1:], stdout, stderr)
	show.Close()
	// An interrupted run says so, and exits as the signal says, whatever
	// became of the error on the way up.
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		err = errors.Join(cause, err)
	}
	// Whatever happened, no process of the run outlives this one.
	sup.Kill()
	os.Exit(exitCode(err, stderr))
}

// superviseSelf marks this process's environment, which everything it
// starts inherits (the interpreter copies it when it starts, so this comes
// first), and starts the watchdog that kills them all when this process is
// gone, however it ends.
func superviseSelf() (*supervise.Supervisor, error) {
	marker := supervise.Marker(os.Getenv(supervise.Env), os.Getpid())
	if err := os.Setenv(supervise.Env, marker); err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	return supervise.Start(self, marker)
}

// interrupted is what stops a run that received a signal: SIGINT or
// SIGTERM, in the phase it arrived in.
type interrupted struct {
	sig   syscall.Signal
	phase string
}

func (e interrupted) Error() string {
	if e.phase == "" {
		return "interrupted by " + sys.SignalName(e.sig)
	}
	return fmt.Sprintf("interrupted by %s during %s", sys.SignalName(e.sig), e.phase)
}

// tailLines are the lines of the engine log a failure shows.
const tailLines = 20

// usageError is a problem with the command line; it exits with status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode prints err and says how the process exits: 0 on success, 2 on
// a usage error, 128 plus the signal's number (130 for SIGINT, 143 for
// SIGTERM) when a signal stopped the run, 1 on any other failure.
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
	var sig interrupted
	var u usageError
	switch {
	case errors.As(err, &sig):
		return 128 + int(sig.sig)
	case errors.As(err, &u):
		return 2
	}
	return 1
}
