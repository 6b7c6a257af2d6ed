package supervise

import (
	"io"
	"os"
	"time"
)

// Watchdog is the watchdog process's body. It waits until the process
// that started it is gone, which it learns when the pipe on in closes or,
// should a forked child have kept the pipe's write end, when its own parent
// changes; then it kills every process that carries marker, and returns.
func Watchdog(marker string, in io.Reader) {
	parent := os.Getppid()
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, in)
		close(closed)
	}()
	t := time.NewTicker(parentEvery)
	defer t.Stop()
	gone := func() bool {
		select {
		case <-closed:
			return true
		case <-t.C:
			return os.Getppid() != parent
		}
	}
	for !gone() {
	}
	KillUnder(marker, 0, 0)
}

// parentEvery is how often the watchdog checks its parent.
const parentEvery = 500 * time.Millisecond
