//go:build !nopython

package pyembed

import (
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// Pipe carries bytes from Python code running in this process to Go
// without Go taking the GIL to read them: the Python side writes to the
// file descriptor Fd (os.write), a goroutine reads Reader. Both ends are
// non-blocking, so a writer whose reader lags gets BlockingIOError instead
// of stalling the call it writes from, and close-on-exec, so no engine
// process inherits them.
type Pipe struct {
	r         *os.File
	w         int
	closeOnce sync.Once
}

// NewPipe makes a pipe; Close releases it.
func NewPipe() (*Pipe, error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	// A non-blocking descriptor makes a pollable file: a read waits in Go's
	// poller, not in a thread.
	return &Pipe{r: os.NewFile(uintptr(fds[0]), "pyembed-pipe"), w: fds[1]}, nil
}

// Fd is the end Python code writes to.
func (p *Pipe) Fd() int { return p.w }

// Reader is the end Go reads: it ends with io.EOF once CloseWrite is called.
func (p *Pipe) Reader() io.Reader { return p.r }

// CloseWrite closes the Python side; call it once no Python code that may
// write to it runs.
func (p *Pipe) CloseWrite() error {
	var err error
	p.closeOnce.Do(func() { err = syscall.Close(p.w) })
	return err
}

// Close closes both ends.
func (p *Pipe) Close() error {
	werr := p.CloseWrite()
	if err := p.r.Close(); err != nil {
		return err
	}
	return werr
}
