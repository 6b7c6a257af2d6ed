package golden

import "testing"

func TestDiff(t *testing.T) {
	for _, tt := range []struct {
		name, want, got, diff string
	}{
		{"one line changed", "a\nb\nc\n", "a\nB\nc\n", "@@ line 2 @@\n-b\n+B\n"},
		{"line added", "a\nc\n", "a\nb\nc\n", "@@ line 2 @@\n+b\n"},
		{"newline lost", "a\n", "a", "@@ line 1 @@\n-a\n+a\n\\ no newline at end\n"},
		{"binary", "PAR1\x00\x01", "PAR1\x00\x02", "binary: want 6 bytes, got 6; first difference at byte 5\n"},
	} {
		if got := diff([]byte(tt.want), []byte(tt.got)); got != tt.diff {
			t.Errorf("%s: diff =\n%s\nwant\n%s", tt.name, got, tt.diff)
		}
	}
}
