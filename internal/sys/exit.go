package sys

import (
	"fmt"
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
