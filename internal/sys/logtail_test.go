package sys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("a\nb\nc\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n    int
		want string
	}{{2, "b|c"}, {3, "a|b|c"}, {10, "a|b|c"}} {
		if got := strings.Join(TailLines(path, tc.n), "|"); got != tc.want {
			t.Errorf("Lines(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if TailLines(filepath.Join(t.TempDir(), "none"), 3) != nil {
		t.Error("a missing file has no lines")
	}
}
