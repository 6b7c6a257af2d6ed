package sys

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExitReason says how a process ended, from its wait status, the way
// rollbench reports it: "killed by SIGKILL", "exited with status 1".
func ExitReason(ws syscall.WaitStatus) string {
	switch {
	case ws.Signaled() && ws.CoreDump():
		return fmt.Sprintf("killed by %s (core dumped)", SignalName(ws.Signal()))
	case ws.Signaled():
		return "killed by " + SignalName(ws.Signal())
	default:
		return fmt.Sprintf("exited with status %d", ws.ExitStatus())
	}
}

// SignalName is the signal's C name, SIGKILL, where Go's String says
// "killed".
func SignalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// Ended says, after the process's name, how a child that exec.Cmd.Wait
// returned err for ended: "was killed by SIGKILL", "exited with status 1".
func Ended(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok {
			if ws.Signaled() {
				return "was " + ExitReason(ws)
			}
			return ExitReason(ws)
		}
	}
	if err != nil {
		return err.Error()
	}
	return "exited with status 0"
}
