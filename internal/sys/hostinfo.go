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
