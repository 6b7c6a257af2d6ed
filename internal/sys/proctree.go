// The process tree functions find and stop the processes a process started, however
// deep: an engine's worker processes must never outlive rollbench and keep
// holding accelerator memory.

package sys

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a process as /proc/PID/stat shows it.
type Process struct {
	PID, PPID int
	// Name is the kernel's name for it (comm): at most 15 bytes of what
	// it set with prctl or setproctitle, so vLLM's "VLLM::EngineCore"
	// reads "VLLM::EngineCor".
	Name string
	// State is the kernel's one-letter state; Z is a zombie, a process that
	// has exited and is waiting for its parent to collect its status.
	State byte
	// ExitStatus is a zombie's wait status, as waitpid would report it.
	ExitStatus syscall.WaitStatus
	// CPU is the processor time the process has used, in user and kernel
	// mode, to the kernel's 10 ms.
	CPU time.Duration
}

// TreeCPU is the processor time the descendants of pid have used.
func TreeCPU(pid int) time.Duration {
	var sum time.Duration
	for _, p := range Tree(pid, Processes()) {
		sum += p.CPU
	}
	return sum
}

// Processes lists every process in /proc. Processes that exit while it
// reads are left out.
func Processes() []Process {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	out := make([]Process, 0, len(stats))
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		if p, ok := parseStat(string(data)); ok {
			out = append(out, p)
		}
	}
	return out
}

// parseStat reads the fields of /proc/PID/stat that Process holds:
// exit_code is the 50th of statFields.
func parseStat(s string) (Process, bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Process{}, false
	}
	fields := statFields([]byte(s))
	if len(fields) < 2 || len(fields[0]) != 1 || !('A' <= fields[0][0] && fields[0][0] <= 'z') {
		return Process{}, false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(s[:open]))
	ppid, err2 := strconv.Atoi(fields[1])
	if err1 != nil || err2 != nil {
		return Process{}, false
	}
	p := Process{PID: pid, PPID: ppid, Name: s[open+1 : end], State: fields[0][0]}
	if len(fields) >= 13 {
		utime, _ := strconv.ParseUint(fields[11], 10, 64)
		stime, _ := strconv.ParseUint(fields[12], 10, 64)
		p.CPU = time.Duration(utime+stime) * time.Second / clockTicks
	}
	if len(fields) >= 50 {
		code, _ := strconv.Atoi(fields[49])
		p.ExitStatus = syscall.WaitStatus(code)
	}
	return p, true
}

// Descendants lists the living descendants of pid, parents before children,
// read from /proc.
func Descendants(pid int) []int {
	var out []int
	for _, p := range Tree(pid, Processes()) {
		if p.State != 'Z' {
			out = append(out, p.PID)
		}
	}
	return out
}

// Tree lists the descendants of pid among procs, parents before children,
// zombies included.
func Tree(pid int, procs []Process) []Process {
	children := map[int][]Process{}
	for _, p := range procs {
		children[p.PPID] = append(children[p.PPID], p)
	}
	var out []Process
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
	}
	return out
}

// statFields splits the content of /proc/PID/stat after the command name,
// from the state on ("state ppid ..."): the name may hold spaces and
// parentheses, so it ends at the last closing parenthesis. It is nil for
// anything else.
func statFields(data []byte) []string {
	s := string(data)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return nil
	}
	return strings.Fields(s[end+1:])
}

// KillGroup kills process group pgid and every process in tree, a list of
// descendants taken while they were still attached: once a parent dies its
// children are reparented and no longer found below it.
func KillGroup(pgid int, tree []int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for _, p := range tree {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}
