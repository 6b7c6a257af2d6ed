package supervise

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// titled starts a shell that names itself title, as vLLM's processes do,
// and runs body; it returns once the name is set.
func titled(t *testing.T, title, body string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", fmt.Sprintf("printf %s > /proc/self/comm; %s", title, body))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitName(t, cmd.Process.Pid, title)
	return cmd
}

func waitName(t *testing.T, pid int, title string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) == title[:min(len(title), 15)] {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d never named itself %s", pid, title)
		}
	}
}

const forever = "while :; do sleep 1; done"

// watch returns a watch and the channel its report arrives on.
func watch(t *testing.T) (*EngineWatch, <-chan error) {
	died := make(chan error, 1)
	w := WatchEngine(func(err error) { died <- err })
	t.Cleanup(w.Stop)
	return w, died
}

func report(t *testing.T, died <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-died:
		return err
	case <-time.After(within):
		return nil
	}
}

func TestEngineWatchNamesTheDeadChild(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		kill       bool
		want       string
	}{
		{"killed", forever, true, "killed by SIGKILL"},
		{"exited", "sleep 0.5; exit 3", false, "exited with status 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core := titled(t, "VLLM::EngineCore", tc.body)
			pid := core.Process.Pid
			_, died := watch(t)
			// Seen by the first scan, which runs at once.
			time.Sleep(100 * time.Millisecond)
			if tc.kill {
				_ = core.Process.Kill()
			}
			err := report(t, died, 2*time.Second)
			want := fmt.Sprintf("engine core (VLLM::EngineCor, pid %d) %s", pid, tc.want)
			if err == nil || err.Error() != want {
				t.Fatalf("reported %v, want %q", err, want)
			}
			// Its parent still collects it: the watch only looked.
			if err := core.Wait(); tc.kill != isKilled(err) {
				t.Errorf("the parent's wait: %v", err)
			}
		})
	}
}

func isKilled(err error) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	ws, _ := exit.Sys().(syscall.WaitStatus)
	return ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func TestEngineWatchNamesTheDeadGrandchild(t *testing.T) {
	// The worker below the shell, as vLLM's Worker is below its engine
	// core: seen by a scan, dead while a zombie or once gone.
	sh := exec.Command("sh", "-c", "(printf VLLM::Worker > /proc/self/comm; "+forever+") & echo $!; wait")
	out, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sh.Process.Kill(); _ = sh.Wait() })
	var worker int
	if _, err := fmt.Fscan(out, &worker); err != nil {
		t.Fatal(err)
	}
	waitName(t, worker, "VLLM::Worker")
	_, died := watch(t)
	time.Sleep(100 * time.Millisecond)
	_ = syscall.Kill(worker, syscall.SIGKILL)
	err = report(t, died, scanEvery+time.Second)
	if err == nil || !regexp.MustCompile(fmt.Sprintf(`^worker \(VLLM::Worker, pid %d\) (killed by SIGKILL|died)$`, worker)).MatchString(err.Error()) {
		t.Fatalf("reported %v", err)
	}
}

func TestEngineWatchExpectsTeardown(t *testing.T) {
	core := titled(t, "VLLM::EngineCore", forever)
	w, died := watch(t)
	w.Expect()
	_ = core.Process.Kill()
	if err := report(t, died, scanEvery+500*time.Millisecond); err != nil {
		t.Fatalf("a death in teardown was reported: %v", err)
	}
	// A fresh engine's core, started after the teardown, is watched.
	fresh := titled(t, "VLLM::EngineCore", forever)
	time.Sleep(scanEvery + 200*time.Millisecond)
	_ = fresh.Process.Kill()
	if err := report(t, died, 2*time.Second); err == nil {
		t.Fatal("the fresh engine's death was not reported")
	}
}

func TestEngineWatchIgnoresOthers(t *testing.T) {
	other := titled(t, "python", forever)
	_, died := watch(t)
	time.Sleep(100 * time.Millisecond)
	_ = other.Process.Kill()
	if err := report(t, died, scanEvery+500*time.Millisecond); err != nil {
		t.Fatalf("reported a process that is not the engine's: %v", err)
	}
}

// TestExitReasonAfterReaping reads how a process ended once its parent
// has collected it, as Python's multiprocessing does before the watch can,
// where the kernel keeps it (Linux 6.15 and later).
func TestExitReasonAfterReaping(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fd := openPidfd(cmd.Process.Pid)
	if fd < 0 {
		t.Skip("no pidfd_open on this kernel")
	}
	defer closePidfd(fd)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	got := exitReason(fd)
	if got != "killed by SIGKILL" && (got != "died" || kernelAtLeast(t, 6, 15)) {
		t.Errorf("exitReason = %q", got)
	}
}

func kernelAtLeast(t *testing.T, major, minor int) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var maj, mnr int
	_, _ = fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &maj, &mnr)
	return maj > major || maj == major && mnr >= minor
}

func TestKillEngine(t *testing.T) {
	core := titled(t, "VLLM::EngineCore", forever)
	other := titled(t, "python", forever)
	KillEngine()
	if err := core.Wait(); !isKilled(err) {
		t.Errorf("the engine core: %v, want killed", err)
	}
	if err := syscall.Kill(other.Process.Pid, 0); err != nil {
		t.Errorf("a process that is not the engine's was killed: %v", err)
	}
}
