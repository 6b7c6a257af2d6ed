package result

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rollbench/rollbench/internal/sys"
)

// LockExt ends the file that says a run is writing the result NAME.
const LockExt = ".lock"

// Lock is a run's hold on a result name in a directory: the file
// NAME.lock, holding the process that holds it. A holder killed without a
// chance to remove it leaves it behind; the next run finds its process gone
// (or its pid reused by a process that started later) and takes it over.
type Lock struct {
	path string
	// content is what this run wrote, to remove only its own lock.
	content []byte
}

// HeldError is a lock held by another live run.
type HeldError struct {
	Name, Dir string
	Holder    sys.Started
}

func (e *HeldError) Error() string {
	if e.Holder.PID == 0 {
		return fmt.Sprintf("%s in %s is being written by another run (its lock file %s%s was created a moment ago)", e.Name, e.Dir, e.Name, LockExt)
	}
	return fmt.Sprintf("%s in %s is being written by another run (pid %d, started %s)",
		e.Name, e.Dir, e.Holder.PID, e.Holder.At.Local().Format(time.DateTime))
}

// unreadableAge is how long a lock file may stay empty or garbled before it
// is taken for stale: its holder writes it right after creating it.
const unreadableAge = 5 * time.Second

// Acquire takes the lock of the result name in dir, creating dir, for this
// process. A live holder is a *HeldError.
func Acquire(dir, name string) (*Lock, error) {
	self, err := sys.ProcessStarted(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	content, err := json.Marshal(self)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	content = append(content, '\n')
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	path := filepath.Join(dir, name+LockExt)
	// A stale lock taken over can be taken by another run in between:
	// then the next attempt finds it live.
	for range 3 {
		err := create(path, content)
		if !errors.Is(err, fs.ErrExist) {
			if err != nil {
				return nil, fmt.Errorf("lock %s: %w", name, err)
			}
			return &Lock{path: path, content: content}, nil
		}
		held, live, err := holder(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // released meanwhile
		case err != nil:
			return nil, fmt.Errorf("lock %s: %w", name, err)
		case live:
			h, _ := parseLock(held)
			return nil, &HeldError{Name: name, Dir: dir, Holder: h}
		}
		if err := takeOver(path, held); err != nil {
			return nil, fmt.Errorf("lock %s: take over a stale lock: %w", name, err)
		}
	}
	return nil, fmt.Errorf("lock %s: %s keeps changing hands", name, path)
}

// create makes the lock file, only if there is none, holding content.
func create(path string, content []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err = cmp.Or(err, f.Close()); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// holder reads a lock file and says whether its holder runs.
func holder(path string) (content []byte, live bool, err error) {
	content, err = os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	h, err := parseLock(content)
	if err != nil {
		// Just created and not written yet, or left so by a holder that
		// died in between.
		st, serr := os.Stat(path)
		return content, serr == nil && time.Since(st.ModTime()) < unreadableAge, nil
	}
	return content, h.Alive(), nil
}

// parseLock reads a lock file's content.
func parseLock(content []byte) (sys.Started, error) {
	var h sys.Started
	if err := json.Unmarshal(content, &h); err != nil {
		return h, fmt.Errorf("lock file: %w", err)
	}
	if h.PID <= 0 || h.Ticks == 0 {
		return h, fmt.Errorf("lock file: no holder: pid %d, start %d", h.PID, h.Ticks)
	}
	return h, nil
}

// takeOver removes the stale lock at path whose content was stale. It moves
// the file aside first, so that a lock another run took over in between is
// not removed but put back.
func takeOver(path string, stale []byte) error {
	aside := fmt.Sprintf("%s.stale.%d", path, os.Getpid())
	if err := os.Rename(path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	got, err := os.ReadFile(aside)
	if err == nil && !bytes.Equal(got, stale) {
		// Another run's: back where it was, unless a third run has
		// created one since, which then holds.
		err = os.Link(aside, path)
		if errors.Is(err, fs.ErrExist) {
			err = nil
		}
	}
	return errors.Join(err, os.Remove(aside))
}

// Release removes the lock if it is still this run's. Once the run is
// over a lock that cannot be removed does no harm: its holder is gone, so
// the next run takes it over.
func (l *Lock) Release() {
	if got, err := os.ReadFile(l.path); err == nil && bytes.Equal(got, l.content) {
		_ = os.Remove(l.path)
	}
}
