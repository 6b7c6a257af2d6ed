// Package profile owns rollbench's profiling: which profiler records a pass
// and with what options, the record a result keeps of a profiled pass,
// scripted profiling sessions, and the top-operator report read back from
// the Chrome traces the profilers write.
//
// Profiling is always a pass of its own, after the measured one: nothing
// timed here enters a throughput figure.
package profile

import (
	"fmt"
	"slices"
	"strings"
)

// Backend is who starts and stops the profiler.
type Backend string

const (
	// VLLM configures the engine's own profiler (the profiler_config engine
	// argument) and calls LLM.start_profile / stop_profile; the engine's
	// workers record, in whatever process they run, with the platform's
	// profiler (torch_npu's on Ascend).
	VLLM Backend = "vllm"
	// Direct wraps the profiled generate in torch.profiler.profile, or
	// torch_npu.profiler.profile when NPU activity is asked for, in the
	// process that embeds the interpreter. It sees the model only when
	// vLLM's engine core runs in that process, so a direct run sets
	// VLLM_ENABLE_V1_MULTIPROCESSING=0 for the whole experiment.
	Direct Backend = "direct"
)

// Activities a profiler may record.
var Activities = []string{"cpu", "cuda", "npu"}

// NPULevels are torch_npu.profiler.ProfilerLevel's members.
var NPULevels = []string{"Level_none", "Level0", "Level1", "Level2"}

// AICMetrics are torch_npu.profiler.AiCMetrics's members.
var AICMetrics = []string{"AiCoreNone", "PipeUtilization", "ArithmeticUtilization", "Memory", "MemoryL0",
	"MemoryUB", "ResourceConflictRatio", "L2Cache", "MemoryAccess"}

// Options choose the profiler and what it records.
type Options struct {
	Backend      Backend  `json:"backend" yaml:"backend"`
	Activities   []string `json:"activities" yaml:"activities"`
	RecordShapes bool     `json:"record_shapes" yaml:"record_shapes"`
	WithStack    bool     `json:"with_stack" yaml:"with_stack"`
	// NPULevel and AICMetrics are torch_npu's profiler_level and
	// aic_metrics; they need the direct backend and NPU activity.
	NPULevel   string `json:"npu_level,omitempty" yaml:"npu_level"`
	AICMetrics string `json:"aic_metrics,omitempty" yaml:"aic_metrics"`
}

// Defaults are a CPU trace through vLLM's profiler, without shapes or stacks
// (which make traces large and slow to write).
func Defaults() Options {
	return Options{Backend: VLLM, Activities: []string{"cpu"}}
}

// NPU reports whether the options ask for torch_npu's profiler.
func (o Options) NPU() bool { return slices.Contains(o.Activities, "npu") }

// Validate checks every option against the lists above; the messages name
// the option by its flag's suffix, so callers prefix "--profile-".
func (o Options) Validate() error {
	if o.Backend != VLLM && o.Backend != Direct {
		return fmt.Errorf("backend must be %s or %s, got %q", VLLM, Direct, o.Backend)
	}
	if len(o.Activities) == 0 {
		return fmt.Errorf("activities: none given (want some of %s)", strings.Join(Activities, ", "))
	}
	for _, a := range o.Activities {
		if !slices.Contains(Activities, a) {
			return fmt.Errorf("activities: unknown activity %q (want some of %s)", a, strings.Join(Activities, ", "))
		}
	}
	if o.NPU() && slices.Contains(o.Activities, "cuda") {
		return fmt.Errorf("activities: cuda and npu exclude each other")
	}
	if o.NPULevel != "" && !slices.Contains(NPULevels, o.NPULevel) {
		return fmt.Errorf("npu-level: unknown level %q (want one of %s)", o.NPULevel, strings.Join(NPULevels, ", "))
	}
	if o.AICMetrics != "" && !slices.Contains(AICMetrics, o.AICMetrics) {
		return fmt.Errorf("aic-metrics: unknown metrics %q (want one of %s)", o.AICMetrics, strings.Join(AICMetrics, ", "))
	}
	if o.Backend != Direct || !o.NPU() {
		for _, opt := range []struct{ name, v string }{{"npu-level", o.NPULevel}, {"aic-metrics", o.AICMetrics}} {
			if opt.v != "" {
				return fmt.Errorf("%s needs backend %s and activity npu", opt.name, Direct)
			}
		}
	}
	return nil
}

// VLLMConfig is the profiler_config engine argument (and vllm serve's
// --profiler-config) that makes the engine's workers write their traces to
// dir. On NPU the activities are left to the platform's worker.
func (o Options) VLLMConfig(dir string) map[string]any {
	cfg := map[string]any{
		"profiler":                     "torch",
		"torch_profiler_dir":           dir,
		"torch_profiler_record_shapes": o.RecordShapes,
		"torch_profiler_with_stack":    o.WithStack,
	}
	if !o.NPU() {
		acts := make([]any, len(o.Activities))
		for i, a := range o.Activities {
			acts[i] = strings.ToUpper(a)
		}
		cfg["torch_profiler_activities"] = acts
	}
	return cfg
}

// DirectKwargs are the keyword arguments of rollbench.profiling.start.
func (o Options) DirectKwargs(dir, name string) map[string]any {
	acts := make([]any, len(o.Activities))
	for i, a := range o.Activities {
		acts[i] = a
	}
	return map[string]any{
		"trace_dir":     dir,
		"worker_name":   name,
		"activities":    acts,
		"record_shapes": o.RecordShapes,
		"with_stack":    o.WithStack,
		"npu_level":     o.NPULevel,
		"aic_metrics":   o.AICMetrics,
	}
}
