package sys

import (
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestKillReachesGrandchildren(t *testing.T) {
	// A shell whose child sleeps: two generations below this process.
	cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var tree []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if tree = Descendants(os.Getpid()); len(tree) >= 3 {
			break
		}
	}
	if len(tree) < 3 || tree[0] != cmd.Process.Pid {
		t.Fatalf("descendants = %v, want the shell %d first and its two sleeps", tree, cmd.Process.Pid)
	}
	if n := KillTree(os.Getpid(), syscall.SIGKILL); n < 3 {
		t.Errorf("signalled %d processes, want 3", n)
	}
	_ = cmd.Wait()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if left := Descendants(os.Getpid()); !slices.ContainsFunc(left, func(p int) bool { return slices.Contains(tree, p) }) {
			return
		}
	}
	t.Errorf("processes %v still alive after Kill", Descendants(os.Getpid()))
}
