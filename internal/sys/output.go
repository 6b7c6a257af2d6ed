// The process's file descriptors 1 and 2 are what every process it starts
// inherits, and what the Python code it embeds writes to: vLLM's engine
// processes, its logger and the torch profiler's tables all print there.
// rollbench keeps its own standard output and error apart, on descriptors
// no child inherits, so that the engine's output can go to a log file
// while rollbench's own lines (results, progress, errors) reach the user.

package sys

import (
	"fmt"
	"os"
	"syscall"
)

// KeepStdio returns rollbench's own standard output and error, duplicates
// that no child inherits, and points file descriptor 1 at standard error:
// what the engine prints to its standard output must never mix with the
// results. Failing to duplicate, it returns os.Stdout and os.Stderr.
func KeepStdio() (stdout, stderr *os.File) {
	keep := func(fd int, name string, fallback *os.File) *os.File {
		dup, err := syscall.Dup(fd)
		if err != nil {
			return fallback
		}
		syscall.CloseOnExec(dup)
		return os.NewFile(uintptr(dup), name)
	}
	stdout = keep(1, "/dev/stdout", os.Stdout)
	stderr = keep(2, "/dev/stderr", os.Stderr)
	if stdout != os.Stdout {
		_ = syscall.Dup3(2, 1, 0)
	}
	return stdout, stderr
}

// RedirectOutput points file descriptors 1 and 2 at the file at path,
// created or emptied, so that everything this process and the processes it
// starts from now on print goes there. Only what KeepStdio kept still
// reaches the user.
func RedirectOutput(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("engine log: %w", err)
	}
	defer f.Close()
	for _, fd := range []int{1, 2} {
		if err := syscall.Dup3(int(f.Fd()), fd, 0); err != nil {
			return fmt.Errorf("engine log %s: %w", path, err)
		}
	}
	return nil
}
