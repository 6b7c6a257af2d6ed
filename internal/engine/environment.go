package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/rollbench/rollbench/internal/sys"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload"
)

// Describe reads the environment from the interpreter (after it imported
// vllm, which settles the platform) and from the machine.
func Describe(ctx context.Context, in *pyembed.Interpreter) (sys.Environment, error) {
	info := in.Info()
	env := sys.Environment{
		Python:     info.Version,
		Executable: info.Executable,
		CPUModel:   sys.CPUModel(),
		CPUCount:   runtime.NumCPU(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Env:        speedEnv(),
	}
	env.Hostname, _ = os.Hostname()
	err := in.Do(ctx, func(s *pyembed.Scope) error {
		var err error
		if env.VLLM, err = moduleVersion(s, "vllm"); err != nil {
			var pe *pyembed.Error
			if errors.As(err, &pe) && pe.Type == "ModuleNotFoundError" {
				return fmt.Errorf("%s cannot import vllm (%s); install vLLM there or choose another interpreter with --python",
					info.Executable, pe.Message)
			}
			return err
		}
		if env.Torch, err = moduleVersion(s, "torch"); err != nil {
			return err
		}
		if env.TorchNPU, err = optionalVersion(s, "torch_npu"); err != nil {
			return err
		}
		if env.VLLMAscend, err = optionalVersion(s, "vllm_ascend"); err != nil {
			return err
		}
		return describePlatform(s, &env)
	})
	return env, err
}

// Supports refuses what the platform cannot run, rather than let a
// fallback produce a number that is not what was asked for.
func Supports(env sys.Environment, q workload.Quantization) error {
	if env.Platform == "cpu" && q == workload.W8A16 {
		return errors.New("w8a16 is not supported on this platform (cpu): vLLM has no int8 weight-only kernel for CPUs")
	}
	return nil
}

func describePlatform(s *pyembed.Scope, env *sys.Environment) error {
	platforms, err := s.Import("vllm.platforms")
	if err != nil {
		return err
	}
	p, err := platforms.Attr("current_platform")
	if err != nil {
		return err
	}
	if env.Platform, err = strAttr(p, "device_name"); err != nil {
		return err
	}
	name, err := p.CallMethod("get_device_name", nil, nil)
	if err != nil {
		return err
	}
	if env.DeviceName, err = name.Str(); err != nil {
		return err
	}
	env.DeviceCount = 1
	if p.HasAttr("device_count") {
		n, err := p.CallMethod("device_count", nil, nil)
		if err != nil {
			return err
		}
		count, err := n.Int()
		if err != nil {
			return err
		}
		env.DeviceCount = int(count)
	}
	envs, err := s.Import("vllm.envs")
	if err != nil {
		return err
	}
	mp, err := envs.Attr("VLLM_ENABLE_V1_MULTIPROCESSING")
	if err != nil {
		return err
	}
	v, err := mp.Go()
	if err != nil {
		return err
	}
	env.Multiprocessing, _ = v.(bool)
	env.WorkerMethod, err = strAttr(envs, "VLLM_WORKER_MULTIPROC_METHOD")
	return err
}

func strAttr(o pyembed.Object, name string) (string, error) {
	a, err := o.Attr(name)
	if err != nil {
		return "", err
	}
	return a.Str()
}

func moduleVersion(s *pyembed.Scope, module string) (string, error) {
	m, err := s.Import(module)
	if err != nil {
		return "", err
	}
	return strAttr(m, "__version__")
}

// optionalVersion is "" for a module that is not installed.
func optionalVersion(s *pyembed.Scope, module string) (string, error) {
	v, err := moduleVersion(s, module)
	var pe *pyembed.Error
	if errors.As(err, &pe) && pe.Type == "ModuleNotFoundError" {
		return "", nil
	}
	return v, err
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
