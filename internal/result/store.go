package result

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The files of the result NAME in a directory: NAME.json holds the latest
// complete result or, without one, the latest record; NAME.failed.json
// holds the latest run that did not complete when NAME.json is complete,
// and exists only beside it.
const (
	Ext       = ".json"
	FailedExt = ".failed.json"
)

// Path is the file of the result name in dir.
func Path(dir, name string) string { return filepath.Join(dir, name+Ext) }

// FailedPath is where a run of name that did not complete goes when dir
// holds a complete result of that name.
func FailedPath(dir, name string) string { return filepath.Join(dir, name+FailedExt) }

// Complete reports whether path holds a complete result: status ok.
func Complete(path string) bool {
	data, err := os.ReadFile(path)
	return err == nil && status(data) == StatusOK
}

func status(data []byte) string {
	var h struct{ Status string }
	if json.Unmarshal(data, &h) != nil {
		return ""
	}
	return h.Status
}

// Save writes v, a result of the run name, into dir so that a failed,
// interrupted or skipped run never replaces a complete result: beside a
// complete NAME.json it goes to NAME.failed.json; otherwise to NAME.json,
// and a stale NAME.failed.json goes. It returns the file written.
//
// When that write fails, the measurement is kept all the same: the whole
// result goes to a new file in os.TempDir() or, if that fails too, as JSON to
// last. The error then says where it went, and the path returned is that
// file's ("" for last).
func Save(dir, name string, v any, last io.Writer) (string, error) {
	data, err := encode(v)
	if err != nil {
		return "", err
	}
	path := Path(dir, name)
	if status(data) != StatusOK && Complete(path) {
		path = FailedPath(dir, name)
	}
	if err := write(path, data); err != nil {
		return rescue(name, data, last, err)
	}
	if path == Path(dir, name) {
		// One left behind does no harm: the summaries prefer NAME.json,
		// and the next failure beside a complete one replaces it.
		_ = os.Remove(FailedPath(dir, name))
	}
	return path, nil
}

// Rescue keeps v, a result of the run name that could not be written where
// it belongs (err says why), as Save does: in a new file in os.TempDir() or
// as JSON on last. It returns that file ("" for last) and err extended with
// where the result went.
func Rescue(name string, v any, last io.Writer, err error) (string, error) {
	data, encErr := encode(v)
	if encErr != nil {
		return "", errors.Join(err, encErr)
	}
	return rescue(name, data, last, err)
}

func rescue(name string, data []byte, last io.Writer, err error) (string, error) {
	path, ferr := writeFallback(name, data)
	if ferr == nil {
		return path, fmt.Errorf("%w; the result is saved in %s instead", err, path)
	}
	if _, serr := last.Write(data); serr != nil {
		return "", fmt.Errorf("%w; the result is lost: a fallback file failed too (%v), and so did standard output (%v)", err, ferr, serr)
	}
	return "", fmt.Errorf("%w; a fallback file failed too (%v): the result is on standard output", err, ferr)
}

// writeFallback writes data to a new file in the temporary directory,
// named after the run.
func writeFallback(name string, data []byte) (string, error) {
	f, err := os.CreateTemp("", "rollbench-"+strings.ReplaceAll(name, string(filepath.Separator), "_")+"-*"+Ext)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	err = cmp.Or(err, f.Sync(), f.Close())
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func encode(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return append(data, '\n'), nil
}
