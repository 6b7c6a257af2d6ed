//go:build !nopython

package pyembed

/*
#cgo pkg-config: python3
#include <Python.h>

// cpy3 wraps PySignal_SetWakeupFd, which CPython 3.10-3.12 declare but do not
// export, so the binary would not link. Weak, so a libpython that does export
// it is not shadowed by this stub.
__attribute__((weak)) int PySignal_SetWakeupFd(int fd) { (void)fd; return -1; }

// KeyboardInterrupt cannot be delivered as a signal: the interpreter runs
// without Python signal handlers so that Go keeps SIGINT and SIGTERM. An
// asynchronous exception raised in the interpreter thread does the same job.
static int rb_async_interrupt(unsigned long tid) {
	return PyThreadState_SetAsyncExc(tid, PyExc_KeyboardInterrupt);
}

static int rb_clear_async(unsigned long tid) {
	return PyThreadState_SetAsyncExc(tid, NULL);
}
*/
import "C"

// threadID is the identifier CPython gives the calling OS thread.
func threadID() C.ulong { return C.ulong(C.PyThread_get_thread_ident()) }

// raiseInterrupt makes KeyboardInterrupt pending in thread tid. GIL held.
func raiseInterrupt(tid C.ulong) { C.rb_async_interrupt(tid) }

// clearInterrupt drops an interrupt still pending in thread tid. GIL held.
func clearInterrupt(tid C.ulong) { C.rb_clear_async(tid) }
