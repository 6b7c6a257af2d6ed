package supervise

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary is also the watchdog, and the supervised process of the
// tests below (helperEnv): a process that starts a tree of children, one
// in a session of its own, as an engine's do.
const helperEnv = "SUPERVISE_TEST_HELPER"

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == WatchdogCommand {
		Watchdog(os.Args[2], os.Stdin)
		os.Exit(0)
	}
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

func helper(mode string) int {
	marker := Marker(os.Getenv(Env), os.Getpid())
	os.Setenv(Env, marker)
	os.Unsetenv(helperEnv)
	sup, err := Start(os.Args[0], marker)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	if err := exec.Command("sleep", "600").Start(); err != nil {
		fmt.Println(err)
		return 1
	}
	away := exec.Command("sh", "-c", "sleep 600 & wait")
	away.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := away.Start(); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("ready", marker, sup.watchdog)
	if mode == "exit" {
		sup.Kill()
		return 0
	}
	time.Sleep(time.Hour)
	return 0
}

// startHelper runs the helper in mode and returns it, its marker and its
// watchdog's pid, once its tree is up.
func startHelper(t *testing.T, mode string) (*exec.Cmd, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	var marker string
	var watchdog int
	if _, err := fmt.Sscanf(line, "ready %s %d", &marker, &watchdog); err != nil {
		t.Fatalf("helper said %q", line)
	}
	return cmd, marker, watchdog
}

// waitGone waits until no process carries marker, and fails after 5 s.
func waitGone(t *testing.T, marker string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for left := Marked(marker); len(left) > 0; left = Marked(marker) {
		if time.Now().After(deadline) {
			t.Fatalf("still alive after 5 s: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKillOfTheGroupLeavesNothing(t *testing.T) {
	cmd, marker, watchdog := startHelper(t, "block")
	// The watchdog, two sleeps and the shell of the second.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		left := Marked(marker)
		if len(left) == 4 && slices.Contains(left, watchdog) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("marked before the kill: %v, want 4 with the watchdog %d", left, watchdog)
		}
	}
	// What a terminal's Ctrl-C, or a matrix stopping a child, reaches;
	// the sleep of the shell in its own session is out of reach.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitGone(t, marker)
}

func TestExitKillsTheTreeAndTheWatchdogExits(t *testing.T) {
	cmd, marker, _ := startHelper(t, "exit")
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, marker)
}

func TestMarkers(t *testing.T) {
	top := Marker("", 42)
	if !strings.HasPrefix(top, "42.") || top == Marker("", 42) {
		t.Errorf("top-level markers %q: want pid 42 and a random part", top)
	}
	child := Marker(top, 7)
	if child != ChildMarker(top, 7) || child != top+"/7" {
		t.Errorf("child marker %q", child)
	}
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{top, true}, {child, true}, {child + "/9", true},
		{top + "0", false}, {"", false}, {"41." + top[3:], false},
	} {
		if got := under(top, tc.v); got != tc.want {
			t.Errorf("under(%q, %q) = %v", top, tc.v, got)
		}
	}
}
