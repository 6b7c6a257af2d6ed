// TailLines reads the end of a log file, for error messages that must
// show what a process said last.

package sys

import (
	"bytes"
	"os"
	"strings"
)

// TailLines returns the last n lines of the file at path (none when it cannot be
// read).
func TailLines(path string, n int) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return LastLines(data, n)
}

// LastLines returns the last n lines of a process's output (none when it
// is empty).
func LastLines(data []byte, n int) []string {
	if len(data) == 0 {
		return nil
	}
	lines := strings.Split(string(bytes.TrimRight(data, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
