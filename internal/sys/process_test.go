package sys

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestProcessStarted(t *testing.T) {
	self, err := ProcessStarted(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// This test process started a moment ago, on the wall clock too.
	if age := time.Since(self.At); age < -2*time.Second || age > 10*time.Minute {
		t.Errorf("this process started %v ago", age)
	}
	if !self.Alive() {
		t.Error("this process is not alive")
	}
	reused := self
	reused.Ticks++
	if reused.Alive() {
		t.Error("a process that started at another tick is taken for this one")
	}

	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := ProcessStarted(child.Process.Pid); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ProcessStarted of an exited process: %v, want it not to exist", err)
	}
	if (Started{PID: child.Process.Pid, Ticks: self.Ticks}).Alive() {
		t.Error("an exited process is alive")
	}
}

func TestStartTicks(t *testing.T) {
	// Field 22 after a command name with spaces and parentheses.
	stat := "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615"
	for _, tc := range []struct {
		data string
		want uint64
		err  string
	}{
		{stat, 987654, ""},
		{"4242 (sleep) S 1 2 3", 0, "no start time"},
		{strings.Replace(stat, "987654", "x", 1), 0, `start time "x"`},
		{"garbage", 0, "no start time"},
	} {
		got, err := startTicks(statFields([]byte(tc.data)))
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("startTicks(%q) = %d, %v; want %d, %q", tc.data, got, err, tc.want, tc.err)
		}
	}
}

func FuzzStartTicks(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 1 0 0 0 1 2 0 0 20 0 1 0 5 1000 100"))
	f.Add([]byte("1 ()) S"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fields := statFields(data)
		if _, err := startTicks(fields); err == nil && len(fields) < 20 {
			t.Errorf("a start time from %d fields", len(fields))
		}
	})
}
