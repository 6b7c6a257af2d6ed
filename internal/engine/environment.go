package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/rollbench/rollbench/internal/sys"
	"github.com/rollbench/rollbench/workload"
)

// describeModule is the Python side of the description: its describe()
// returns the interpreter's half of sys.Environment under its JSON keys.
const describeModule = "rollbench.environment"

// Describe runs rollbench.environment in the child python, which imports
// vllm as an engine of that interpreter would, and adds the machine.
func (p ChildPython) Describe(ctx context.Context) (sys.Environment, error) {
	out, err := p.run(ctx, "-m", describeModule)
	if err != nil {
		return machine(p.Exe), fmt.Errorf("describe the environment: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return describeFrom([]byte(lines[len(lines)-1]), p.Exe)
}

// describeFrom completes what rollbench.environment reported about exe,
// in either process, with what Go knows of the machine. On error the
// environment still holds what is known, for the failed result.
func describeFrom(data []byte, exe string) (sys.Environment, error) {
	env := machine(exe)
	var missing struct {
		VLLM string `json:"vllm_missing"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return env, fmt.Errorf("read the description of %s: %w", exe, err)
	}
	if err := json.Unmarshal(data, &missing); err != nil {
		return env, fmt.Errorf("read the description of %s: %w", exe, err)
	}
	if missing.VLLM != "" {
		return env, fmt.Errorf("%s cannot import vllm (%s); install vLLM there or choose another interpreter with --python",
			exe, missing.VLLM)
	}
	return env, nil
}

// machine is the part of the environment Go reads itself.
func machine(exe string) sys.Environment {
	env := sys.Environment{
		Executable: exe,
		CPUModel:   sys.CPUModel(),
		CPUCount:   runtime.NumCPU(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Env:        speedEnv(),
	}
	env.Hostname, _ = os.Hostname()
	return env
}

// Supports refuses what the platform cannot run, rather than let a
// fallback produce a number that is not what was asked for.
func Supports(env sys.Environment, q workload.Quantization) error {
	if env.Platform == "cpu" && q == workload.W8A16 {
		return errors.New("w8a16 is not supported on this platform (cpu): vLLM has no int8 weight-only kernel for CPUs")
	}
	return nil
}

// speedEnvPrefixes select the variables recorded with a result: vLLM's own,
// threading, device selection and the Ascend runtime's switches.
var speedEnvPrefixes = []string{"VLLM_", "OMP_", "MKL_", "KMP_", "TORCH", "PYTORCH_", "CUDA_", "NCCL_",
	"ASCEND_", "HCCL_", "TASK_QUEUE_ENABLE", "HF_HUB_OFFLINE", "LD_PRELOAD"}

func speedEnv() map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		for _, p := range speedEnvPrefixes {
			if strings.HasPrefix(k, p) {
				out[k] = v
				break
			}
		}
	}
	return out
}
