package sys

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
)

func TestExitReason(t *testing.T) {
	for _, tc := range []struct {
		status syscall.WaitStatus
		want   string
	}{
		{0, "exited with status 0"},
		{1 << 8, "exited with status 1"},
		{syscall.WaitStatus(syscall.SIGKILL), "killed by SIGKILL"},
		{syscall.WaitStatus(syscall.SIGSEGV) | 0x80, "killed by SIGSEGV (core dumped)"},
		{syscall.WaitStatus(syscall.SIGTERM), "killed by SIGTERM"},
		{syscall.WaitStatus(40), "killed by signal 40"},
	} {
		if got := ExitReason(tc.status); got != tc.want {
			t.Errorf("ExitReason(%#x) = %q, want %q", int(tc.status), got, tc.want)
		}
	}
}

func TestEnded(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   string
	}{
		{"exit 0", "exited with status 0"},
		{"exit 3", "exited with status 3"},
		{"kill -KILL $$", "was killed by SIGKILL"},
		{"kill -TERM $$", "was killed by SIGTERM"},
	} {
		if got := Ended(exec.Command("sh", "-c", tc.script).Run()); got != tc.want {
			t.Errorf("%s: Ended = %q, want %q", tc.script, got, tc.want)
		}
	}
	if got := Ended(errors.New("wait: no child")); got != "wait: no child" {
		t.Errorf("Ended of another error = %q", got)
	}
}
