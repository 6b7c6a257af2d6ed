// Host info is what results record about the machine itself.

package sys

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// CPUModel is the processor's model name from /proc/cpuinfo, or "".
func CPUModel() string {
	v, _ := field("/proc/cpuinfo", "model name")
	return v
}

// MemoryGiB is the machine's memory, rounded to whole GiB, or 0.
func MemoryGiB() int {
	v, ok := field("/proc/meminfo", "MemTotal")
	var kb int
	if !ok {
		return 0
	}
	if _, err := fmt.Sscanf(v, "%d kB", &kb); err != nil {
		return 0
	}
	return (kb + 1<<19) >> 20
}

// AvailableMemory is the memory the kernel says new work can take
// without swapping (MemAvailable), in bytes.
func AvailableMemory() (int64, bool) {
	v, ok := field("/proc/meminfo", "MemAvailable")
	var kb int64
	if !ok {
		return 0, false
	}
	if _, err := fmt.Sscanf(v, "%d kB", &kb); err != nil {
		return 0, false
	}
	return kb << 10, true
}

// Bytes prints a size in GiB with one decimal, as vLLM prints its memory.
func Bytes(n int64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }

// field is the value of the first "key: value" line with that key.
func field(path, key string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}
