package result

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rollbench/rollbench/internal/sys"
)

// TestLock takes a lock over every kind of earlier holder: none, a live
// run, a dead one, a pid since reused, and a lock file not written yet.
func TestLock(t *testing.T) {
	live := exec.Command("sleep", "60")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = live.Process.Kill(); _ = live.Wait() }()
	liveStart, err := sys.ProcessStarted(live.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	self, err := sys.ProcessStarted(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	holding := func(s sys.Started) string {
		data, _ := json.Marshal(s)
		return string(data) + "\n"
	}
	for _, tc := range []struct {
		name string
		// before is the lock file's content ("" for none), age its age.
		before string
		age    time.Duration
		// held is the holder's pid when the lock must be refused.
		held int
	}{
		{name: "fresh"},
		{name: "live holder", before: holding(liveStart), held: live.Process.Pid},
		{name: "stale holder", before: holding(sys.Started{PID: dead.Process.Pid, Ticks: liveStart.Ticks, At: liveStart.At})},
		// The pid is alive but is another process: it started later.
		{name: "reused pid", before: holding(sys.Started{PID: live.Process.Pid, Ticks: liveStart.Ticks - 1, At: liveStart.At})},
		{name: "lock being written", before: "", age: -1, held: -1},
		{name: "lock left empty", before: "", age: time.Minute},
		{name: "garbled lock, old", before: "{pid", age: time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "results")
			path := filepath.Join(dir, "m_bf16"+LockExt)
			if tc.before != "" || tc.age != 0 {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tc.before), 0o644); err != nil {
					t.Fatal(err)
				}
				if tc.age > 0 {
					old := time.Now().Add(-tc.age)
					if err := os.Chtimes(path, old, old); err != nil {
						t.Fatal(err)
					}
				}
			}
			lock, err := Acquire(dir, "m_bf16")
			if tc.held != 0 {
				var held *HeldError
				if !errors.As(err, &held) {
					t.Fatalf("Acquire = %v, want it held", err)
				}
				want := "m_bf16 in " + dir + " is being written by another run ("
				if tc.held > 0 {
					want += "pid " + strconv.Itoa(tc.held) + ", started " + liveStart.At.Local().Format(time.DateTime) + ")"
				} else {
					want += "its lock file m_bf16.lock was created a moment ago)"
				}
				if err.Error() != want {
					t.Errorf("error\n%q, want\n%q", err, want)
				}
				if data, _ := os.ReadFile(path); string(data) != tc.before {
					t.Errorf("a refused run changed the lock: %q", data)
				}
				return
			}
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			data, err := os.ReadFile(path)
			if err != nil || string(data) != holding(self) {
				t.Errorf("lock holds %q, %v; want this process, %q", data, err, holding(self))
			}
			if _, err := Acquire(dir, "m_bf16"); err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
				t.Errorf("a second Acquire: %v, want it held by this process", err)
			}
			lock.Release()
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("lock left after Release: %v", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("files left: %v", entries)
			}
		})
	}
}

// TestReleaseKeepsAnotherRunsLock checks that a run whose lock was taken
// over (its holder judged dead) does not remove the new holder's.
func TestReleaseKeepsAnotherRunsLock(t *testing.T) {
	dir := t.TempDir()
	lock, err := Acquire(dir, "m_bf16")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m_bf16"+LockExt)
	other := `{"pid": 1, "start_ticks": 1, "started_at": "2026-01-01T00:00:00Z"}` + "\n"
	if err := os.WriteFile(path, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	lock.Release()
	if data, _ := os.ReadFile(path); string(data) != other {
		t.Errorf("Release removed or changed another run's lock: %q", data)
	}
}

// TestTakeOverGivesBackALiveLock checks the race of two runs taking over
// the same stale lock: the one that finds the other's fresh lock where the
// stale one was puts it back.
func TestTakeOverGivesBackALiveLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m_bf16"+LockExt)
	fresh := []byte(`{"pid": 7}`)
	if err := os.WriteFile(path, fresh, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := takeOver(path, []byte(`{"pid": 3}`)); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != string(fresh) {
		t.Errorf("the live lock is gone: %q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}

func FuzzParseLock(f *testing.F) {
	f.Add([]byte(`{"pid": 12, "start_ticks": 345, "started_at": "2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"pid": -1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := parseLock(data)
		if err == nil && (h.PID <= 0 || h.Ticks == 0) {
			t.Errorf("parseLock(%q) = %+v without an error", data, h)
		}
	})
}
