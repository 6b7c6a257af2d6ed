package result

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/workload"
)

func TestCheckDir(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir string
		need      int64
		want      string // the error, "" for none
	}{
		{"existing directory", root, 1 << 20, ""},
		{"created later", filepath.Join(root, "a", "b"), 1 << 20, ""},
		{"a file", file, 0, "not a directory"},
		{"below a file", filepath.Join(file, "results"), 0, file + " is not a directory"},
		// No filesystem has this much free.
		{"too little space", filepath.Join(root, "results"), math.MaxInt64, " free on its filesystem, too little for the result (about 8.0 EiB)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDir(tc.dir, tc.need)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckDir: %v", err)
			case tc.want != "" && (err == nil || !strings.HasSuffix(err.Error(), tc.want)):
				t.Errorf("CheckDir = %v, want %q", err, tc.want)
			}
		})
	}
	// Nothing is created: no directory, no probe file left.
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("CheckDir left %v", entries)
	}
}

// TestCheckDirUnwritable needs a directory this process cannot write: a
// read-only one, or for root, which writes anywhere, a read-only mount.
func TestCheckDirUnwritable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	want := "not writable: permission denied"
	if os.Geteuid() == 0 {
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
			t.Skipf("root cannot be refused a write without a read-only mount, and mount failed: %v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
		want = "not writable: read-only file system"
	} else if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "results")} {
		if err := CheckDir(d, 0); err == nil || err.Error() != want {
			t.Errorf("CheckDir(%s) = %v, want %q", d, err, want)
		}
	}
}

func TestSamplesBound(t *testing.T) {
	spec := workload.Default()
	spec.Rollout.NumPrompts, spec.Rollout.N, spec.Rollout.InputLen, spec.Rollout.OutputLen = 32, 8, 512, 256
	for _, tc := range []struct {
		prompts int
		want    int64
	}{
		{4, 4096 + 4*8*(256+8*512+33*256)},
		{0, 4096 + 32*8*(256+8*512+33*256)},
		{100, 4096 + 32*8*(256+8*512+33*256)},
	} {
		if got := SamplesBound(spec, tc.prompts); got != tc.want {
			t.Errorf("SamplesBound(%d prompts) = %d, want %d", tc.prompts, got, tc.want)
		}
	}
	spec.Rollout.NumPrompts, spec.Rollout.N = 1<<40, 1<<40
	if got := SamplesBound(spec, 0); got != math.MaxInt64 {
		t.Errorf("SamplesBound of a step too large to count = %d, want the largest size", got)
	}
}

func TestSizeBound(t *testing.T) {
	spec := workload.Default()
	spec.Rollout.NumPrompts, spec.Rollout.N, spec.Rollout.Repeat, spec.Rollout.OutputLen = 4, 2, 1, 64
	// A real result of this rollout took 6.0 KB.
	if got := SizeBound(spec, false); got != 64<<10+8<<10+1<<10 {
		t.Errorf("SizeBound = %d", got)
	}
	if got := SizeBound(spec, true); got != 64<<10+8<<10+1<<10+8*(256+32*64) {
		t.Errorf("SizeBound with requests = %d", got)
	}
	spec.Rollout.NumPrompts, spec.Rollout.N = math.MaxInt, math.MaxInt
	if got := SizeBound(spec, false); got != math.MaxInt64 {
		t.Errorf("SizeBound of a workload too large to count = %d, want the largest size", got)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1 << 10: "1.0 KiB", 1536 << 20: "1.5 GiB", math.MaxInt64: "8.0 EiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestCheckDirRelative checks a relative directory to create, the
// default: its nearest existing parent is the working directory.
func TestCheckDirRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := CheckDir(filepath.Join("benchmark_results", "x"), 0); err != nil {
		t.Errorf("CheckDir of a relative directory to create: %v", err)
	}
	if _, err := os.Stat("benchmark_results"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CheckDir created the directory: %v", err)
	}
}
