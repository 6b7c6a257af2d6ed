//go:build !nopython

package pyembed

/*
#cgo pkg-config: python3
#include <Python.h>
#include <signal.h>
#include <stdint.h>

// cpy3 wraps PySignal_SetWakeupFd, which CPython 3.10-3.12 declare but do not
// export, so the binary would not link. Weak, so a libpython that does export
// it is not shadowed by this stub.
__attribute__((weak)) int PySignal_SetWakeupFd(int fd) { (void)fd; return -1; }

// The call the interpreter thread is running, 0 between calls. Only that
// thread reads or writes it: Do's calls set it, and the pending calls below
// run there.
static uint64_t rb_running;

static void rb_set_running(uint64_t id) { rb_running = id; }

// KeyboardInterrupt cannot be delivered as a signal: the interpreter runs
// without Python signal handlers so that Go keeps SIGINT and SIGTERM. A
// pending call is CPython's way in from another thread: the interpreter's
// main thread runs it between bytecodes, and also from a lock wait that a
// signal interrupted (queue.get, a Condition), which no asynchronous
// exception reaches. It raises only in the call it was meant for.
static int rb_raise_interrupt(void *id) {
	if ((uint64_t)(uintptr_t)id != rb_running) {
		return 0;
	}
	PyErr_SetNone(PyExc_KeyboardInterrupt);
	return -1;
}

// Safe from any thread, without the GIL.
static int rb_schedule_interrupt(uint64_t id) {
	return Py_AddPendingCall(rb_raise_interrupt, (void *)(uintptr_t)id);
}

// The kick signal only makes a blocking system call of the interpreter
// thread return EINTR, so that CPython's retry loop runs the pending call
// (or pyzmq's raises InterruptedSystemCall, whose Python constructor
// does). Go's own handlers restart system calls (SA_RESTART), which would
// leave a lock wait asleep: this one does not. SA_ONSTACK because it may
// land while the thread runs Go code.
static void rb_on_kick(int sig) { (void)sig; }

static int rb_kick_signal(void) { return SIGRTMAX - 1; }

static int rb_install_kick(void) {
	struct sigaction sa;
	sa.sa_handler = rb_on_kick;
	sa.sa_flags = SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	return sigaction(rb_kick_signal(), &sa, NULL);
}
*/
import "C"

import (
	"fmt"
	"syscall"
)

// setRunning records the call the interpreter thread runs. Interpreter
// thread only.
func setRunning(id uint64) { C.rb_set_running(C.uint64_t(id)) }

// scheduleInterrupt makes KeyboardInterrupt pending in call id, if it is
// still running when the interpreter thread next checks. Any thread.
func scheduleInterrupt(id uint64) { C.rb_schedule_interrupt(C.uint64_t(id)) }

// installKick sets up the signal that kick sends.
func installKick() error {
	if rc, err := C.rb_install_kick(); rc != 0 {
		return fmt.Errorf("install the interrupt signal handler: %w", err)
	}
	return nil
}

// kick interrupts a blocking system call of thread tid (see rb_on_kick).
func kick(tid int) {
	_ = syscall.Tgkill(syscall.Getpid(), tid, syscall.Signal(C.rb_kick_signal()))
}
