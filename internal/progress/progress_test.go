package progress

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestLines(t *testing.T) {
	var b bytes.Buffer
	d := New(&b, "prog", false)
	d.Phase(Load, "/models/x, bf16")
	d.Samples(3, 8) // a count is for the live line only
	d.Phase(Generate, "")
	if got := d.Current(); got != Generate {
		t.Errorf("Current() = %q during generate", got)
	}
	d.Close()
	if got := d.Current(); got != "" {
		t.Errorf("Current() = %q after Close", got)
	}
	want := "prog: phase load (/models/x, bf16)\nprog: phase generate\n"
	if b.String() != want {
		t.Errorf("lines:\n%q\nwant\n%q", b.String(), want)
	}
}

func TestLive(t *testing.T) {
	var b bytes.Buffer
	d := New(&b, "prog", true)
	clock := time.Unix(0, 0)
	d.now = func() time.Time { return clock }
	d.width = 40
	d.Phase(Load, "a detail much too long for a forty-column terminal")
	clock = clock.Add(1500 * time.Millisecond)
	d.Phase(Generate, "")
	d.Samples(5, 16)
	clock = clock.Add(2 * time.Second)
	d.Close()
	out := b.String()
	for _, want := range []string{
		"  load          1.5 s\n",
		"  generate      2.0 s  5/16 samples\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
	for _, line := range strings.Split(out, "\r\x1b[K") {
		if n := len([]rune(strings.TrimSuffix(line, "\n"))); n >= 40 {
			t.Errorf("status line of %d columns on a 40-column terminal: %q", n, line)
		}
	}
}

func TestNilAndContext(t *testing.T) {
	var d *Display
	if d.Live() || New(&bytes.Buffer{}, "p", false).Live() || !New(&bytes.Buffer{}, "p", true).Live() {
		t.Error("only a live display is live")
	}
	d.Phase(Load, "")
	d.Samples(1, 2)
	d.Clear()
	d.Close()
	if From(context.Background()) != nil {
		t.Error("a context without a display has one")
	}
	shown := New(&bytes.Buffer{}, "p", false)
	if From(NewContext(context.Background(), shown)) != shown {
		t.Error("the display does not travel in the context")
	}
}
