//go:build !nopython

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/workload"
	"github.com/rollbench/rollbench/workload/config"
)

// checklist prints one line per step, and what to do about a failed one.
type checklist struct{ w io.Writer }

func (c checklist) ok(format string, args ...any) {
	fmt.Fprintf(c.w, "[ ok ] %s\n", fmt.Sprintf(format, args...))
}

func (c checklist) fail(step string, err error, advice string) error {
	fmt.Fprintf(c.w, "[FAIL] %s: %v\n       %s\n", step, err, advice)
	return fmt.Errorf("diagnostic: %s: %w", step, err)
}

// runDiagnostic checks, in order, everything a benchmark needs, with a
// small run of the first configured model's BF16 checkpoint.
func (o *diagnosticOptions) run(ctx context.Context, stdout io.Writer) error {
	c := checklist{stdout}
	spec := o.spec
	spec.Rollout.NumPrompts = 4
	spec.Engine.Quant = workload.BF16
	modelName := "tiny"
	if o.selection.config != "" {
		f, err := config.Load(o.selection.config)
		if err != nil {
			return c.fail("config", err, "fix the models file (see configs/models.example.yaml)")
		}
		planned, err := planMatrix(o.engineOptions, o.selection, f, plainExperiment)
		if err != nil {
			return c.fail("config", err, "fix the models file or the flags")
		}
		first := planned[0]
		if first.Skip != "" || first.Spec.Engine.Quant != workload.BF16 {
			return c.fail("model path", fmt.Errorf("%s has no bf16 checkpoint configured", first.ModelName), "add a bf16 path for it to the models file")
		}
		if first.Fail != "" {
			return c.fail("model path", fmt.Errorf("%s", first.Fail), "set model_base (or --model-base, ROLLBENCH_MODEL_BASE) and the model's paths to where the checkpoints are")
		}
		modelName = first.ModelName
		first.Spec.Rollout.NumPrompts = 4
		// A diagnostic checks one engine in this process, whatever the
		// model's data_parallel_size.
		first.Spec.Replicas = nil
		spec = first.Spec
	} else if spec.Engine.Model != "" {
		modelName = o.modelName
	}
	if spec.Engine.Model != "" {
		c.ok("model path exists: %s", spec.Engine.Model)
	} else {
		c.ok("model: the built-in tiny model")
	}
	name := "diagnostic_" + modelName + "_bf16"
	lock, err := result.Acquire(o.outputDir, name)
	if err != nil {
		return c.fail("output", err, "wait for the other run to end, or pass another --output-dir")
	}
	defer lock.Release()
	log := o.engineLogPath(name)
	if err := toEngineLog(log); err != nil {
		return c.fail("engine log", err, "choose a --log-dir (or --engine-log) this user can write")
	}
	if log != "" {
		c.ok("engine log: %s", log)
	}

	in, err := startInterpreter(o.python, false)
	if err != nil {
		return c.fail("interpreter", err, "point --python (or $ROLLBENCH_PYTHON) at the python of the environment that has vLLM, or rebuild with make PYTHON=...")
	}
	defer finalize(in)
	c.ok("interpreter: %s (Python %s)", in.Info().Executable, in.Info().Version)

	env, err := engine.Describe(ctx, in)
	if err != nil {
		return c.fail("vllm import", err, "install vLLM (and vllm-ascend, torch_npu on Ascend) into that environment; run with --verbose for the traceback")
	}
	c.ok("vllm %s imports, torch %s, platform %s (%s x%d)", env.VLLM, env.Torch, env.Platform, env.DeviceName, env.DeviceCount)

	x := plainExperiment(name, modelName, spec)
	x.Log = log
	ran, err := runExperiment(ctx, in, o.python, x)
	if ran == nil {
		return logged(c.fail("benchmark", err, "run with --verbose for the Python traceback"+logNote(log)), log)
	}
	path, saveErr := result.Save(o.outputDir, name, ran, stdout)
	if err != nil {
		advice := "the failed result and its error are in " + path + logNote(log) + "; run with --verbose for the traceback"
		if saveErr != nil {
			advice = "run with --verbose for the traceback" + logNote(log)
		}
		return logged(c.fail("benchmark", errors.Join(err, saveErr), advice), log)
	}
	res := ran.(*result.Offline)
	c.ok("benchmark runs: %d prompts x n=%d in %.2f s, %.1f output tok/s", res.Tokens.Prompts, spec.Rollout.N, res.Timings.Generate, res.Throughput.OutputTokensPerSecond)
	for _, w := range res.Warnings {
		fmt.Fprintf(stdout, "[warn] %s\n", w)
	}
	if saveErr != nil {
		return c.fail("result saved", saveErr, "free space in --output-dir, or pass another")
	}
	c.ok("result saved: %s", path)
	return nil
}

// plainExperiment is an offline experiment without a profiled pass.
func plainExperiment(name, modelName string, spec workload.Spec) experiment {
	return experiment{Name: name, ModelName: modelName, Spec: spec}
}
