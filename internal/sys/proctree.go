// The process tree functions find and stops the processes a process started, however
// deep: an engine's worker processes must never outlive rollbench and keep
// holding accelerator memory.

package sys

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Descendants lists the living descendants of pid, parents before children,
// read from /proc.
func Descendants(pid int) []int {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		fields := statFields(data)
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		child, err1 := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		parent, err2 := strconv.Atoi(fields[1])
		if err1 == nil && err2 == nil {
			children[parent] = append(children[parent], child)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
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

// KillTree sends sig to every descendant of pid and returns how many it signalled.
// Children are signalled before they can be reparented by a dying parent.
func KillTree(pid int, sig syscall.Signal) int {
	n := 0
	for _, p := range Descendants(pid) {
		if syscall.Kill(p, sig) == nil {
			n++
		}
	}
	return n
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
