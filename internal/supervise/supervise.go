// Package supervise makes every process rollbench starts die with it,
// however rollbench ends, kill -9 included, and notices when one of its
// engine's processes dies while rollbench waits on it.
//
// Every process started under a rollbench process carries a marker in its
// environment (Env), inherited however deep and kept when a dying parent
// leaves it to init. A matrix child's marker extends its parent's
// (PARENT/CHILD), so the parent's covers the child's too. Each rollbench
// process has a watchdog: the same binary, in a session of its own so that a
// terminal's Ctrl-C and a kill of rollbench's process group miss it,
// holding the read end of a pipe whose write end only rollbench holds. When
// the pipe closes, rollbench is gone, and the watchdog kills every process
// that carries its marker, then exits.
package supervise

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rollbench/rollbench/internal/sys"
)

// Env is the variable that carries the marker.
const Env = "ROLLBENCH_SUPERVISOR"

// WatchdogCommand is the hidden subcommand that runs the watchdog:
// `rollbench-inproc WatchdogCommand MARKER`, with the pipe on its stdin.
const WatchdogCommand = "supervise-watchdog"

// Marker is the marker of process pid, which inherited the marker
// inherited ("" at the top): a top-level rollbench's is new, a child's
// extends its parent's.
func Marker(inherited string, pid int) string {
	if inherited == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		return strconv.Itoa(pid) + "." + hex.EncodeToString(b)
	}
	return ChildMarker(inherited, pid)
}

// ChildMarker is the marker that the rollbench process pid, started under
// marker, gives itself.
func ChildMarker(marker string, pid int) string { return marker + "/" + strconv.Itoa(pid) }

// under reports whether a process whose marker is v was started under
// marker: v is marker itself or nested in it.
func under(marker, v string) bool {
	return v == marker || strings.HasPrefix(v, marker+"/")
}

// Supervisor is the calling process's side of its watchdog.
type Supervisor struct {
	marker   string
	watchdog int
	// pipe is held open for the life of the process; its closing, at
	// exit, is what the watchdog waits for.
	pipe *os.File
}

// Start starts the watchdog of the calling process, whose marker is
// marker (set in its environment before, so that everything it starts
// carries it): exe, the running binary, with WatchdogCommand.
func Start(exe, marker string) (*Supervisor, error) {
	r, w, err := os.Pipe() // close-on-exec: no other child holds an end
	if err != nil {
		return nil, fmt.Errorf("start the watchdog: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(exe, WatchdogCommand, marker)
	// No output: a parent reading rollbench's stdout or stderr through a
	// pipe would otherwise wait for the watchdog to exit too.
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start the watchdog: %w", err)
	}
	return &Supervisor{marker: marker, watchdog: cmd.Process.Pid, pipe: w}, nil
}

// Kill kills every process the calling process started, however deep and
// wherever it was reparented, except the watchdog, which exits by itself
// once this process has.
func (s *Supervisor) Kill() {
	KillUnder(s.marker, os.Getpid(), s.watchdog)
}

// KillUnder kills, with SIGKILL, every process that carries marker or one
// nested in it and every descendant of root (none when root is 0), except
// the caller and spare, and looks again until none is left or killBound
// has passed.
func KillUnder(marker string, root, spare int) {
	self := os.Getpid()
	deadline := time.Now().Add(killBound)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		targets := Marked(marker)
		if root != 0 {
			targets = append(targets, sys.Descendants(root)...)
		}
		n := 0
		for _, p := range targets {
			if p != self && p != spare && syscall.Kill(p, syscall.SIGKILL) == nil {
				n++
			}
		}
		if n == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(wait)
	}
}

// killBound bounds KillUnder: a process stuck in the kernel (a device
// driver's wait) may take a while to die, and nothing more can be done.
const killBound = 5 * time.Second

// Marked lists the living processes that carry marker or one nested in it.
func Marked(marker string) []int {
	var out []int
	key := []byte(Env + "=")
	envs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, path := range envs {
		data, err := os.ReadFile(path) // empty for a zombie
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(data), "\x00") {
			if v, ok := strings.CutPrefix(kv, string(key)); ok && under(marker, v) {
				if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
					out = append(out, pid)
				}
				break
			}
		}
	}
	return out
}
