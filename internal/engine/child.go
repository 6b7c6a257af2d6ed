package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rollbench/rollbench/internal/sys"
)

// ChildPython is a python run as a child process with rollbench's Python
// package importable, for what needs the interpreter's libraries but not
// the embedded interpreter.
type ChildPython struct {
	// Exe is the python executable.
	Exe string
	// Path is the directory that holds the rollbench package.
	Path string
}

// run runs the python with args and returns its standard output; on
// failure the error ends with the last line it wrote to standard error.
func (p ChildPython) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, p.Exe, args...)
	path := p.Path
	if old := os.Getenv("PYTHONPATH"); old != "" {
		path += string(filepath.ListSeparator) + old
	}
	cmd.Env = append(os.Environ(), "PYTHONPATH="+path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// A traceback ends with the exception.
		if last := sys.LastLines(stderr.Bytes(), 1); len(last) > 0 {
			return nil, fmt.Errorf("%s %s: %w: %s", p.Exe, strings.Join(args, " "), err, last[0])
		}
		return nil, fmt.Errorf("%s %s: %w", p.Exe, strings.Join(args, " "), err)
	}
	return stdout.Bytes(), nil
}
