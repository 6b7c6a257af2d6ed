package supervise

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rollbench/rollbench/internal/sys"
)

// enginePrefix begins the titles vLLM gives its processes (setproctitle):
// VLLM::EngineCore, VLLM::Worker, VLLM::Worker_TP1, VLLM::DPCoordinator.
const enginePrefix = "VLLM::"

// EngineWatch watches the engine processes the calling process starts,
// its descendants titled by vLLM, and reports the first that dies while
// the engine is not being shut down. vLLM itself may not notice: its
// SyncMPClient marks a dead engine core and then leaves get_output waiting
// for ever.
type EngineWatch struct {
	self int
	died func(error)
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	known    map[int]*engineProc
	stopped  bool
	reported bool
}

type engineProc struct {
	title string
	// child is true for this process's own children, whose exit status
	// waitid reads before their parent collects it.
	child    bool
	expected bool
	// pidfd, -1 where the kernel has none, keeps the exit status of a
	// process whose parent collected it first (see exitStatus).
	pidfd int
}

// scanEvery is how often the watch looks for new engine processes and at
// those that are not its children. A child's death is seen at once.
const scanEvery = time.Second

// WatchEngine starts watching. died is called once, from another
// goroutine, with the first death that was not expected, saying which
// process died and how: "engine core (VLLM::EngineCore, pid 4242) killed
// by SIGKILL".
func WatchEngine(died func(error)) *EngineWatch {
	w := &EngineWatch{self: os.Getpid(), died: died, stop: make(chan struct{}), done: make(chan struct{}), known: map[int]*engineProc{}}
	go w.loop()
	return w
}

func (w *EngineWatch) loop() {
	defer close(w.done)
	t := time.NewTicker(scanEvery)
	defer t.Stop()
	for {
		w.scan()
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

// Expect says that the engine is being shut down: the processes it has
// now may exit. Those found later, a fresh engine's, are watched again.
func (w *EngineWatch) Expect() {
	w.scan()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.known {
		p.expected = true
	}
}

// Stop ends the watch; deaths after it are not reported.
func (w *EngineWatch) Stop() {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	// A child's waiter closes its own when the child exits.
	for _, e := range w.known {
		if !e.child {
			closePidfd(e.pidfd)
		}
	}
}

func (w *EngineWatch) scan() {
	tree := sys.Tree(w.self, sys.Processes())
	w.mu.Lock()
	defer w.mu.Unlock()
	present := map[int]bool{}
	for _, p := range tree {
		present[p.PID] = true
		if !strings.HasPrefix(p.Name, enginePrefix) {
			continue
		}
		e, seen := w.known[p.PID]
		if !seen {
			e = &engineProc{title: title(p), child: p.PPID == w.self, pidfd: openPidfd(p.PID)}
			w.known[p.PID] = e
			if e.child {
				go w.waitChild(p.PID, e)
			}
		}
		// Another's child is seen dead while it is a zombie, or once its
		// parent has collected it.
		if !e.child && p.State == 'Z' {
			w.diedLocked(p.PID, e, sys.ExitReason(p.ExitStatus))
		}
	}
	for pid, e := range w.known {
		if !e.child && !present[pid] {
			w.diedLocked(pid, e, exitReason(e.pidfd))
			closePidfd(e.pidfd)
			delete(w.known, pid)
		}
	}
}

func (w *EngineWatch) waitChild(pid int, e *engineProc) {
	reason := waitExit(pid, e.pidfd)
	closePidfd(e.pidfd)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.diedLocked(pid, e, reason)
}

func (w *EngineWatch) diedLocked(pid int, e *engineProc, reason string) {
	if e.expected || w.stopped || w.reported {
		return
	}
	w.reported = true
	go w.died(fmt.Errorf("%s (%s, pid %d) %s", role(e.title), e.title, pid, reason))
}

// KillEngine kills what is left of the engine's processes, this process's
// descendants titled by vLLM: after a teardown there are none, but an
// interrupted load leaves them to vLLM's clean-up, which the interrupt may
// cut short, and the interpreter's finalization would wait for them
// (multiprocessing joins its children at exit).
func KillEngine() {
	for _, p := range sys.Tree(os.Getpid(), sys.Processes()) {
		if strings.HasPrefix(p.Name, enginePrefix) && p.State != 'Z' {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
}

// title is the process's full title, which vLLM writes over its command
// line; the kernel's name for it keeps 15 bytes.
func title(p sys.Process) string {
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/cmdline")
	if t := string(bytes.TrimRight(cmdline, "\x00 ")); strings.HasPrefix(t, enginePrefix) {
		return t
	}
	return p.Name
}

// role names an engine process for people, from its full title or the
// kernel's 15 bytes of it.
func role(title string) string {
	switch name := strings.TrimPrefix(title, enginePrefix); {
	case strings.HasPrefix(name, "EngineCor"):
		return "engine core"
	case strings.HasPrefix(name, "Worker"):
		return "worker"
	}
	return "engine process"
}

// waitExit waits until child pid has exited and says how, leaving it to
// be collected by its parent's own wait (WNOWAIT): Python's
// multiprocessing reaps its children itself, often first.
func waitExit(pid, pidfd int) string {
	idtype, id := unix.P_PID, pid
	if pidfd >= 0 {
		// Never another process that reused the pid once it was reaped.
		idtype, id = unix.P_PIDFD, pidfd
	}
	var info siginfo
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, uintptr(idtype), uintptr(id), uintptr(unsafe.Pointer(&info)),
			syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		switch errno {
		case 0:
			return sys.ExitReason(info.status())
		case syscall.EINTR:
			continue
		}
		return exitReason(pidfd)
	}
}

// siginfo is the kernel's siginfo_t as waitid fills it for a child.
type siginfo struct {
	Signo, Errno, Code int32
	_                  int32
	PID                int32
	UID                uint32
	Status             int32
	_                  [100]byte
}

// Values of a child's si_code.
const (
	cldExited = 1
	cldDumped = 3
)

// status is the wait status waitpid would have reported.
func (i *siginfo) status() syscall.WaitStatus {
	switch i.Code {
	case cldExited:
		return syscall.WaitStatus(i.Status&0xff) << 8
	case cldDumped:
		return syscall.WaitStatus(i.Status&0x7f) | 0x80
	}
	return syscall.WaitStatus(i.Status & 0x7f)
}

// openPidfd opens a file descriptor for process pid, or returns -1.
func openPidfd(pid int) int {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1
	}
	syscall.CloseOnExec(fd)
	return fd
}

func closePidfd(fd int) {
	if fd >= 0 {
		_ = syscall.Close(fd)
	}
}

// exitReason says how the reaped process of pidfd ended, which Linux 6.15
// and later keep for as long as a pidfd is open; "died" where it cannot.
func exitReason(pidfd int) string {
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_EXIT}
	if pidfd < 0 || unix.IoctlPidfdInfo(pidfd, &info) != nil || info.Mask&unix.PIDFD_INFO_EXIT == 0 {
		return "died"
	}
	return sys.ExitReason(syscall.WaitStatus(info.Exit_code))
}
