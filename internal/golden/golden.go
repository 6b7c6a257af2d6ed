// Package golden checks a test's output against a file under testdata. It
// registers no flag: a test binary panics when two of its packages register
// the same name, so each test package owns its -update and passes its value.
package golden

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// Check compares got with the golden file at path, or rewrites that file
// when update is set (the test package's -update flag).
func Check(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", path, diff(want, got))
	}
}

// diff shows where got departs from want: the lines between their common
// head and tail, or, for binary data, the first byte that differs.
func diff(want, got []byte) string {
	if !isText(want) || !isText(got) {
		i := 0
		for i < len(want) && i < len(got) && want[i] == got[i] {
			i++
		}
		return fmt.Sprintf("binary: want %d bytes, got %d; first difference at byte %d\n", len(want), len(got), i)
	}
	w, g := strings.SplitAfter(string(want), "\n"), strings.SplitAfter(string(got), "\n")
	head := 0
	for head < len(w) && head < len(g) && w[head] == g[head] {
		head++
	}
	tail := 0
	for tail < len(w)-head && tail < len(g)-head && w[len(w)-1-tail] == g[len(g)-1-tail] {
		tail++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "@@ line %d @@\n", head+1)
	for _, l := range w[head : len(w)-tail] {
		writeLine(&b, "-", l)
	}
	for _, l := range g[head : len(g)-tail] {
		writeLine(&b, "+", l)
	}
	return b.String()
}

// writeLine marks a line lacking its newline, so a difference only there
// still shows.
func writeLine(b *strings.Builder, mark, line string) {
	if line == "" {
		return // what SplitAfter leaves after a final newline
	}
	b.WriteString(mark + line)
	if !strings.HasSuffix(line, "\n") {
		b.WriteString("\n\\ no newline at end\n")
	}
}

func isText(data []byte) bool {
	return utf8.Valid(data) && !bytes.ContainsRune(data, 0)
}
