package sidebyside

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/rollbench/rollbench/internal/sys"
)

// Environment is where a benchmark's figures were measured.
type Environment struct {
	Date      string `json:"date"`
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	MemoryGiB int    `json:"memory_gib"`
	Go        string `json:"go"`
	Rollbench string `json:"rollbench"`
	VLLM      string `json:"vllm"`
	Torch     string `json:"torch"`
	Python    string `json:"python"`
}

// ReadEnvironment is this machine now, with the versions recorded in the offline
// result at path: the environment every run of the benchmark used.
func ReadEnvironment(path string) (Environment, error) {
	env := Environment{Date: time.Now().UTC().Format(time.RFC3339), Cores: runtime.NumCPU(), Go: runtime.Version()}
	data, err := os.ReadFile(path)
	if err != nil {
		return env, err
	}
	var r struct {
		Rollbench   string `json:"rollbench_version"`
		Environment struct {
			VLLM, Torch, Python string
			CPUModel            string `json:"cpu_model"`
		} `json:"environment"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return env, fmt.Errorf("%s: %w", path, err)
	}
	env.Rollbench, env.VLLM, env.Torch, env.Python, env.CPU = r.Rollbench, r.Environment.VLLM, r.Environment.Torch, r.Environment.Python, r.Environment.CPUModel
	env.MemoryGiB = sys.MemoryGiB()
	return env, nil
}

// Measured is a report's first line: when, on what, with which versions.
func (e Environment) Measured() string {
	return fmt.Sprintf("Measured %s on %s (%d cores, %d GiB), vLLM %s, torch %s, Python %s, %s, rollbench %s.",
		e.Date, e.CPU, e.Cores, e.MemoryGiB, e.VLLM, e.Torch, e.Python, e.Go, e.Rollbench)
}
