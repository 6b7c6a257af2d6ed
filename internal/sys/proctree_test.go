package sys

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDescendantsReachGrandchildren(t *testing.T) {
	// A shell whose child sleeps: two generations below this process.
	cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var tree []int
	defer func() {
		KillGroup(cmd.Process.Pid, tree)
		_ = cmd.Wait()
	}()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if tree = Descendants(os.Getpid()); len(tree) >= 3 {
			break
		}
	}
	if len(tree) != 3 || tree[0] != cmd.Process.Pid {
		t.Fatalf("descendants = %v, want the shell %d first and its two sleeps", tree, cmd.Process.Pid)
	}
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want Process
		ok   bool
	}{
		{"42 (sleep) S 7 42 42 0 -1", Process{PID: 42, PPID: 7, Name: "sleep", State: 'S'}, true},
		// vLLM's title, with a parenthesis and a space in a name.
		{"43 (VLLM::EngineCor) R 42 1", Process{PID: 43, PPID: 42, Name: "VLLM::EngineCor", State: 'R'}, true},
		{"44 (a) b (c)) S 1 2", Process{PID: 44, PPID: 1, Name: "a) b (c)", State: 'S'}, true},
		// A zombie killed by SIGKILL: exit_code, the 52nd field, is 9.
		{"45 (x) Z 1" + strings.Repeat(" 0", 47) + " 9", Process{PID: 45, PPID: 1, Name: "x", State: 'Z', ExitStatus: 9}, true},
		// utime and stime, the 14th and 15th fields, in clock ticks.
		{"49 (w) S 1 0 0 0 -1 0 0 0 0 0 150 25", Process{PID: 49, PPID: 1, Name: "w", State: 'S', CPU: 1750 * time.Millisecond}, true},
		{"", Process{}, false},
		{"46 (x", Process{}, false},
		{"x (y) S 1", Process{}, false},
		{"47 (y) S", Process{}, false},
		{"48 (y) SS 1", Process{}, false},
	} {
		got, ok := parseStat(tc.stat)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", tc.stat, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add("42 (sleep) S 7 42 42 0 -1")
	f.Add("45 (x) Z 1" + strings.Repeat(" 0", 47) + " 9")
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := parseStat(s)
		if ok && (p.State == 0 || !strings.Contains(s, "("+p.Name+")")) {
			t.Errorf("parseStat(%q) = %+v", s, p)
		}
	})
}

func TestZombieStatus(t *testing.T) {
	// A child that has exited and that nobody has collected yet.
	cmd := exec.Command("sh", "-c", "exit 7")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, p := range Tree(os.Getpid(), Processes()) {
			if p.PID == cmd.Process.Pid && p.State == 'Z' {
				if p.ExitStatus.ExitStatus() != 7 {
					t.Errorf("zombie's status %#x, want exit 7", int(p.ExitStatus))
				}
				if slices.Contains(Descendants(os.Getpid()), p.PID) {
					t.Error("Descendants lists a zombie")
				}
				return
			}
		}
	}
	t.Fatal("the child never showed as a zombie")
}

func TestTreeCPU(t *testing.T) {
	before := TreeCPU(os.Getpid())
	busy := exec.Command("sh", "-c", "while :; do :; done")
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Process.Kill(); _ = busy.Wait() }()
	time.Sleep(400 * time.Millisecond)
	// A spinning child has used most of the 400 ms on any host that is
	// not starved outright.
	if used := TreeCPU(os.Getpid()) - before; used < 50*time.Millisecond {
		t.Errorf("a busy child used %v of CPU in 400 ms", used)
	}
}
