// Package progress shows a long run advancing on rollbench's own stderr:
// the phase it is in, how long it has taken, and during generation the
// samples finished out of the total. On a terminal one status line is
// redrawn in place and each finished phase stays as a line with its time;
// elsewhere (a pipe, a log file, CI) each phase prints one line when it
// starts, `PROG: phase NAME (detail)`, which scripts and tests can wait on.
package progress

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// Phases of a run, in the order a run meets them.
const (
	Import   = "import"
	Load     = "load"
	Warmup   = "warm-up"
	Generate = "generate"
	Profile  = "profile"
	// Scored is the pass that asks for log-probs (--mismatch), Reference
	// the BF16 reference loading and scoring its samples.
	Scored    = "scored pass"
	Teardown  = "teardown"
	Reference = "reference"
	// Server is an online run's vllm serve starting up; Requests its
	// measured requests.
	Server   = "server"
	Requests = "requests"
)

// redraw is how often a terminal's status line is refreshed.
const redraw = 200 * time.Millisecond

// Display reports progress. A nil *Display reports nothing, so code that
// runs with or without one never checks.
type Display struct {
	w     io.Writer
	prog  string
	live  bool
	width int // of the terminal, in columns
	now   func() time.Time

	mu          sync.Mutex
	phase       string
	detail      string
	began       time.Time // of the phase
	done, total int
	stop        chan struct{}
	stopped     chan struct{}
}

// New reports to w, prefixing lines with prog. live redraws a status line,
// for a terminal.
func New(w io.Writer, prog string, live bool) *Display {
	return &Display{w: w, prog: prog, live: live, width: 80, now: time.Now}
}

// ForStderr reports on f, live when f is a terminal.
func ForStderr(f *os.File, prog string) *Display {
	d := New(f, prog, term.IsTerminal(int(f.Fd())))
	if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
		d.width = w
	}
	return d
}

// Live reports whether d redraws a terminal's status line: only then is a
// running count shown, and worth what reporting it costs.
func (d *Display) Live() bool { return d != nil && d.live }

// Phase starts a phase; detail, when not empty, says what it works on.
func (d *Display) Phase(name, detail string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.finishLocked()
	d.phase, d.detail, d.began, d.done, d.total = name, detail, d.now(), 0, 0
	if !d.live {
		if detail != "" {
			fmt.Fprintf(d.w, "%s: phase %s (%s)\n", d.prog, name, detail)
		} else {
			fmt.Fprintf(d.w, "%s: phase %s\n", d.prog, name)
		}
		return
	}
	if d.stop == nil {
		d.stop, d.stopped = make(chan struct{}), make(chan struct{})
		go d.tick(d.stop, d.stopped)
	}
	d.drawLocked()
}

// Current is the phase under way: "" before the first and after Close.
func (d *Display) Current() string {
	if d == nil {
		return ""
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.phase
}

// Samples records how many samples of the phase have finished. It is cheap
// enough to call from the engine's step loop.
func (d *Display) Samples(done, total int) {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.done, d.total = done, total
	d.mu.Unlock()
}

// Close ends the last phase; a terminal keeps its line.
func (d *Display) Close() {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.finishLocked()
	d.phase = ""
	stop, stopped := d.stop, d.stopped
	d.stop = nil
	d.mu.Unlock()
	if stop != nil {
		close(stop)
		<-stopped
	}
}

// Clear removes a terminal's status line before something else writes to
// the same terminal; the next redraw puts it back.
func (d *Display) Clear() {
	if d == nil || !d.live {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprint(d.w, "\r\x1b[K")
}

func (d *Display) tick(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(redraw)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			d.mu.Lock()
			if d.phase != "" {
				d.drawLocked()
			}
			d.mu.Unlock()
		}
	}
}

// finishLocked turns a terminal's status line into the phase's record.
func (d *Display) finishLocked() {
	if !d.live || d.phase == "" {
		return
	}
	fmt.Fprintf(d.w, "\r\x1b[K  %-9s %7.1f s%s\n", d.phase, d.now().Sub(d.began).Seconds(), d.countLocked())
}

func (d *Display) drawLocked() {
	line := fmt.Sprintf("%c %-9s %7.1f s%s", spinner[int(d.now().Sub(d.began)/redraw)%len(spinner)],
		d.phase, d.now().Sub(d.began).Seconds(), d.countLocked())
	if d.detail != "" {
		line += "  " + d.detail
	}
	// A line longer than the terminal wraps, and \r then redraws only
	// its last part.
	if r := []rune(line); len(r) >= d.width {
		line = string(r[:d.width-1])
	}
	fmt.Fprint(d.w, "\r\x1b[K"+line)
}

func (d *Display) countLocked() string {
	if d.total == 0 {
		return ""
	}
	return fmt.Sprintf("  %d/%d samples", d.done, d.total)
}

var spinner = []rune(`|/-\`)

type key struct{}

// NewContext carries d to the code that runs the phases, so that progress
// reaches every layer without being threaded through each signature.
func NewContext(ctx context.Context, d *Display) context.Context {
	return context.WithValue(ctx, key{}, d)
}

// From is the context's Display, or nil.
func From(ctx context.Context) *Display {
	d, _ := ctx.Value(key{}).(*Display)
	return d
}
