package sys

import (
	"os"
	"path/filepath"
	"testing"
)

func TestField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "info")
	if err := os.WriteFile(path, []byte("processor\t: 0\nmodel name\t: Test CPU @ 2GHz\nmodel name\t: second\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, ok := field(path, "model name"); !ok || v != "Test CPU @ 2GHz" {
		t.Errorf("field = %q, %v", v, ok)
	}
	if _, ok := field(path, "flags"); ok {
		t.Error("missing key found")
	}
}

func TestThisMachine(t *testing.T) {
	// Linux is what rollbench runs on; both files exist there.
	if CPUModel() == "" || MemoryGiB() <= 0 {
		t.Errorf("cpu %q, memory %d GiB", CPUModel(), MemoryGiB())
	}
	if avail, ok := AvailableMemory(); !ok || avail <= 0 || avail > int64(MemoryGiB()+1)<<30 {
		t.Errorf("available memory %d bytes (%v) of %d GiB", avail, ok, MemoryGiB())
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{1 << 30: "1.0 GiB", 3 << 29: "1.5 GiB", 0: "0.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
