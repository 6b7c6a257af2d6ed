package result

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"syscall"

	"github.com/rollbench/rollbench/workload"
)

// CheckDir checks, before a run, that results can be written to dir: that
// it, or the nearest of its parents that exists (the run creates the rest),
// is a directory this process can create files in, with need bytes free
// on its filesystem. It creates nothing but a probe file, removed at once.
func CheckDir(dir string, need int64) error {
	existing, err := nearestExisting(dir)
	if err != nil {
		return err
	}
	probe, err := os.CreateTemp(existing, ".rollbench-probe-*")
	if err != nil {
		return fmt.Errorf("not writable: %w", pathCause(err))
	}
	probe.Close()
	if err := os.Remove(probe.Name()); err != nil {
		return fmt.Errorf("not writable: removing a probe file: %w", pathCause(err))
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(existing, &st); err != nil {
		return fmt.Errorf("free space: %w", err)
	}
	if free := st.Bavail * uint64(st.Bsize); free < uint64(need) {
		return fmt.Errorf("%s free on its filesystem, too little for the result (about %s)", FormatBytes(int64(min(free, math.MaxInt64))), FormatBytes(need))
	}
	return nil
}

// nearestExisting returns dir or its nearest parent that exists, which
// must be a directory.
func nearestExisting(dir string) (string, error) {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		switch {
		case err == nil && st.IsDir():
			return p, nil
		case err == nil && p == filepath.Clean(dir):
			return "", errors.New("not a directory")
		case err == nil:
			return "", fmt.Errorf("%s is not a directory", p)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			// ENOTDIR: a parent is a file, found further up.
			return "", pathCause(err)
		case p == filepath.Dir(p):
			return "", fmt.Errorf("no existing parent: %w", err)
		}
	}
}

// pathCause is the cause of a path error without its operation and path,
// which for a probe is a random name the user never gave.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// SizeBound is a generous bound on the bytes the result of spec takes, with
// its requests file (an online run's --save-requests) when requests is set.
// A real offline result of a rollout step takes about 6 KB plus 220 bytes
// per sample (its timeline); this allows 64 KiB plus 1 KiB per sample and
// per measured pass. A request record holds every inter-token gap, about 20
// bytes a token: this allows 256 bytes plus 32 a token.
func SizeBound(spec workload.Spec, requests bool) int64 {
	r := spec.Rollout
	const kib = 1 << 10
	samples := float64(r.NumPrompts) * float64(r.N)
	bytes := 64*kib + samples*kib + float64(max(r.Repeat, 1))*kib
	if requests {
		bytes += samples * (256 + 32*float64(r.OutputLen))
	}
	if bytes >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(bytes)
}

// SamplesBound is a generous bound on the bytes of the samples file of a
// scored pass over the first prompts of spec's step (0: all), before
// compression: a token id takes at most 8 bytes of JSON, a log-prob 25,
// and a line 256 more.
func SamplesBound(spec workload.Spec, prompts int) int64 {
	r := spec.Rollout
	if prompts <= 0 || prompts > r.NumPrompts {
		prompts = r.NumPrompts
	}
	bytes := 4096 + float64(prompts)*float64(r.N)*(256+8*float64(r.InputLen)+33*float64(r.OutputLen))
	if bytes >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(bytes)
}

// FormatBytes writes a size for people, in binary units.
func FormatBytes(n int64) string {
	const units = "KMGTPE"
	if n < 1<<10 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/(1<<10), 0
	for v >= 1<<10 && i < len(units)-1 {
		v /= 1 << 10
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[i])
}
