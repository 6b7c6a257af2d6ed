//go:build !nopython

// Package pyembed is the one place where rollbench meets CPython. It runs an
// embedded interpreter on a single OS thread and offers the rest of the
// program Go values, scoped object handles and *Error; every cgo call, every
// GIL operation and every reference count of the program lives here.
package pyembed

/*
#include <Python.h>
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	python3 "github.com/go-python/cpy3"
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("python interpreter is closed")

// ErrWedged is returned by a call that did not return within GiveUp of its
// context's end, whatever it was interrupted with, and by every call after
// it: the interpreter thread is still inside that call, so nothing else can
// run Python, and Close skips Py_Finalize, which would wait for it. A
// program that meets it is meant to write what it has and exit.
var ErrWedged = fmt.Errorf("the python interpreter is wedged: a call did not return within %s of its interrupt", GiveUp)

// When a call's context ends, the call is interrupted at once, again every
// interruptAgain (library code may swallow a KeyboardInterrupt: vLLM's
// zmq_socket_ctx does), with the interpreter thread kicked out of blocking
// system calls every kickEvery, and given up GiveUp later: time for vLLM
// to clean up after an interrupted load (it gives its engine processes
// 5 s to exit), and little enough that an interrupted run ends within 30 s.
const (
	GiveUp         = 8 * time.Second
	interruptAgain = 2 * time.Second
	kickEvery      = 100 * time.Millisecond
)

// CPython cannot be initialised twice in one process (extension modules such
// as numpy do not survive a second Py_Initialize), so Start refuses to.
var started atomic.Bool

// Config says which Python installation to embed.
type Config struct {
	// Python is the path of a python executable. Its installation, or the
	// virtual environment it belongs to, becomes the embedded interpreter's,
	// and it is what multiprocessing children start as.
	Python string
	// Path entries are put in front of sys.path.
	Path []string
	// Env is set in the process environment before the interpreter starts:
	// Python copies the environment into os.environ once, at start-up, and
	// the processes it starts inherit it.
	Env map[string]string
}

// Info describes the embedded interpreter.
type Info struct {
	Executable string `json:"executable"`
	Version    string `json:"version"`
	Prefix     string `json:"prefix"`
}

// Interpreter is the embedded CPython. All Python code runs on its one
// OS-locked thread; Do may be called from any goroutine.
type Interpreter struct {
	info  Info
	calls chan func()
	quit  chan chan int
	// closeMu guards closed; Do holds it for reading while it hands over a
	// call so that Close never strands one.
	closeMu sync.RWMutex
	closed  bool
	// stuck is closed when a call is given up: the interpreter is wedged.
	stuck     chan struct{}
	stuckOnce sync.Once
	// tid is the interpreter thread's Linux thread id, which kick signals.
	tid int
	// lastCall numbers the calls, so that an interrupt reaches only its own.
	lastCall atomic.Uint64
}

// Start initialises the interpreter of cfg.Python. It fails, rather than
// letting CPython abort the process, when the executable is missing or is not
// the Python version this binary was linked against.
func Start(cfg Config) (*Interpreter, error) {
	info, err := probe(cfg.Python)
	if err != nil {
		return nil, err
	}
	if !started.CompareAndSwap(false, true) {
		return nil, errors.New("a python interpreter was already started in this process")
	}
	for k, v := range cfg.Env {
		if err := os.Setenv(k, v); err != nil {
			return nil, fmt.Errorf("set %s: %w", k, err)
		}
	}
	in := &Interpreter{info: info, calls: make(chan func()), quit: make(chan chan int), stuck: make(chan struct{})}
	ready := make(chan error, 1)
	go in.loop(cfg, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return in, nil
}

// probe asks the executable itself what it is, because initialising an
// interpreter from a mismatched installation is a fatal error, not an
// exception.
func probe(python string) (Info, error) {
	if python == "" {
		return Info{}, errors.New("no python executable given")
	}
	if _, err := os.Stat(python); err != nil {
		return Info{}, fmt.Errorf("python executable: %w", err)
	}
	out, err := exec.Command(python, "-c",
		`import json, sys; print(json.dumps({"version": "%d.%d" % sys.version_info[:2], "prefix": sys.prefix}))`).Output()
	if err != nil {
		return Info{}, fmt.Errorf("run %s: %w", python, err)
	}
	var got struct{ Version, Prefix string }
	if err := json.Unmarshal(out, &got); err != nil {
		return Info{}, fmt.Errorf("read version of %s: %w", python, err)
	}
	linked := fmt.Sprintf("%d.%d", C.PY_MAJOR_VERSION, C.PY_MINOR_VERSION)
	if got.Version != linked {
		return Info{}, fmt.Errorf("%s is Python %s but this binary is built for Python %s (rebuild with make PYTHON=%s)",
			python, got.Version, linked, python)
	}
	return Info{Executable: python, Version: got.Version, Prefix: got.Prefix}, nil
}

func (in *Interpreter) loop(cfg Config, ready chan<- error) {
	// The thread that initialises CPython is its main thread for good;
	// moving between threads deadlocks Py_Finalize.
	runtime.LockOSThread()
	if err := python3.Py_SetProgramName(cfg.Python); err != nil {
		ready <- fmt.Errorf("set program name: %w", err)
		return
	}
	// No Python signal handlers: Go keeps SIGINT and SIGTERM.
	python3.Py_InitializeEx(false)
	in.tid = syscall.Gettid()
	s := &Scope{in: in}
	err := errors.Join(installKick(), s.prependPath(cfg.Path))
	s.release()
	// Idle, the thread must not hold the GIL: the engine runs Python
	// threads of its own between our calls.
	state := python3.PyEval_SaveThread()
	ready <- err
	for {
		select {
		case fn := <-in.calls:
			python3.PyEval_RestoreThread(state)
			fn()
			state = python3.PyEval_SaveThread()
		case reply := <-in.quit:
			python3.PyEval_RestoreThread(state)
			reply <- python3.Py_FinalizeEx()
			return
		}
	}
}

// Info describes the embedded interpreter.
func (in *Interpreter) Info() Info { return in.info }

// Do runs fn on the interpreter thread with the GIL held and waits for it.
// Objects fn creates belong to its Scope and are released when fn returns.
// When ctx ends first, KeyboardInterrupt is raised in the running Python
// code, which may still clean up; if fn has not returned GiveUp later, Do
// returns ErrWedged and leaves it running.
func (in *Interpreter) Do(ctx context.Context, fn func(*Scope) error) error {
	id := in.lastCall.Add(1)
	done := make(chan error, 1)
	call := func() {
		s := &Scope{in: in}
		setRunning(id)
		err := fn(s)
		setRunning(0)
		s.release()
		done <- err
	}
	in.closeMu.RLock()
	if in.closed {
		in.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case in.calls <- call:
		in.closeMu.RUnlock()
	case <-in.stuck:
		in.closeMu.RUnlock()
		return ErrWedged
	case <-ctx.Done():
		in.closeMu.RUnlock()
		return context.Cause(ctx)
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	err := in.interrupt(id, done)
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", context.Cause(ctx), err)
}

// interrupt makes call id return: it raises KeyboardInterrupt in it, again
// if it is swallowed, and kicks the thread out of any system call it
// blocks in, until the call returns or GiveUp has passed.
func (in *Interpreter) interrupt(id uint64, done <-chan error) error {
	scheduleInterrupt(id)
	kick(in.tid)
	kicks := time.NewTicker(kickEvery)
	defer kicks.Stop()
	again := time.NewTicker(interruptAgain)
	defer again.Stop()
	giveUp := time.NewTimer(GiveUp)
	defer giveUp.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-kicks.C:
			kick(in.tid)
		case <-again.C:
			scheduleInterrupt(id)
		case <-giveUp.C:
			in.stuckOnce.Do(func() { close(in.stuck) })
			return ErrWedged
		}
	}
}

// Wedged reports whether a call was given up (see ErrWedged).
func (in *Interpreter) Wedged() bool {
	select {
	case <-in.stuck:
		return true
	default:
		return false
	}
}

// Close finalises the interpreter. Calls after it fail with ErrClosed. A
// wedged interpreter is not finalised, since Py_Finalize would wait for
// the call it is stuck in: Close returns ErrWedged at once, and the
// process is expected to exit.
func (in *Interpreter) Close() error {
	in.closeMu.Lock()
	if in.closed {
		in.closeMu.Unlock()
		return nil
	}
	in.closed = true
	in.closeMu.Unlock()
	if in.Wedged() {
		return ErrWedged
	}
	reply := make(chan int)
	in.quit <- reply
	if rc := <-reply; rc != 0 {
		return fmt.Errorf("finalize python: Py_FinalizeEx returned %d", rc)
	}
	return nil
}
