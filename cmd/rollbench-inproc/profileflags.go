package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/result"
)

// profileFlags are the command line of the profiled pass.
type profileFlags struct {
	on, off  bool
	backend  string
	dir      string
	shape    profile.Shape
	top      int
	options  profile.Options
	explicit []string
}

func addProfileFlags(fs *pflag.FlagSet) *profileFlags {
	p := &profileFlags{options: profile.Defaults()}
	fs.BoolVar(&p.on, "profile", false, "after the measured pass, run a separate profiled pass and write its traces to --profile-dir/NAME/ (default off: no profiling; the measured numbers never include the profiled pass)")
	fs.BoolVar(&p.off, "no-profile", false, "run no profiled pass (the default; the original toolkit's flag)")
	fs.StringVar(&p.backend, "profile-backend", string(profile.VLLM), "vllm (the engine's profiler_config with start_profile/stop_profile; torch_npu's profiler on Ascend) or direct (torch.profiler or torch_npu.profiler around the profiled generate in this process; runs vLLM's engine core in this process for the whole experiment)")
	fs.StringVar(&p.dir, "profile-dir", "benchmark_profiles", "directory the traces go to, in a subdirectory per experiment")
	fs.IntVar(&p.shape.NumPrompts, "profile-num-prompts", 0, "prompts in the profiled generate (0: --num-prompts)")
	fs.IntVar(&p.shape.N, "profile-n", 0, "samples per prompt in the profiled generate (0: -n)")
	fs.IntVar(&p.shape.InputLen, "profile-input-len", 0, "prompt length of the profiled generate (0: --input-len)")
	fs.IntVar(&p.shape.OutputLen, "profile-output-len", 0, "response length of the profiled generate (0: --output-len)")
	fs.StringSliceVar(&p.options.Activities, "profile-activities", p.options.Activities, "what the profiler records, comma-separated: cpu, cuda, npu")
	fs.BoolVar(&p.options.RecordShapes, "profile-record-shapes", false, "record operators' input shapes")
	fs.BoolVar(&p.options.WithStack, "profile-with-stack", false, "record Python stacks (large traces)")
	fs.StringVar(&p.options.NPULevel, "profile-npu-level", "", "with --profile-backend direct and npu activity: torch_npu's profiler level ("+strings.Join(profile.NPULevels, ", ")+")")
	fs.StringVar(&p.options.AICMetrics, "profile-aic-metrics", "", "with --profile-backend direct and npu activity: torch_npu's AI Core metrics ("+strings.Join(profile.AICMetrics, ", ")+")")
	fs.IntVar(&p.top, "profile-top", 15, "operators each trace's report lists")
	return p
}

// plan validates the flags and returns the profiled pass they ask for, or
// nil when none.
func (p *profileFlags) plan(fs *pflag.FlagSet, online bool) (*profile.Plan, error) {
	if p.on && p.off {
		return nil, usagef("--profile and --no-profile exclude each other")
	}
	if !p.on {
		var set []string
		fs.Visit(func(f *pflag.Flag) {
			if strings.HasPrefix(f.Name, "profile-") {
				set = append(set, f.Name)
			}
		})
		if len(set) > 0 {
			return nil, usagef("--%s needs --profile", set[0])
		}
		return nil, nil
	}
	p.options.Backend = profile.Backend(p.backend)
	if err := p.options.Validate(); err != nil {
		return nil, usagef("--profile-%v", err)
	}
	if online && p.options.Backend != profile.VLLM {
		return nil, usagef("--profile-backend %s profiles this process; with --online the engine runs in vllm serve: use vllm", p.options.Backend)
	}
	sh := p.shape
	if sh.NumPrompts < 0 || sh.N < 0 || sh.InputLen < 0 || sh.OutputLen < 0 {
		return nil, usagef("--profile-num-prompts, --profile-n, --profile-input-len and --profile-output-len must not be negative")
	}
	if p.top < 1 {
		return nil, usagef("--profile-top must be at least 1, got %d", p.top)
	}
	dir, err := filepath.Abs(p.dir)
	if err != nil {
		return nil, usagef("--profile-dir: %v", err)
	}
	inProcess, err := engineCoreInProcess(p.options.Backend)
	if err != nil {
		return nil, err
	}
	return &profile.Plan{Options: p.options, Dir: dir, Steps: profile.OnePass(p.shape), Top: p.top, EngineCoreInProcess: inProcess}, nil
}

// engineCoreInProcess puts vLLM's engine core in this process for the
// direct backend, whose profiler sees only this process, and says where
// the core runs.
func engineCoreInProcess(b profile.Backend) (bool, error) {
	const key = "VLLM_ENABLE_V1_MULTIPROCESSING"
	v, set := os.LookupEnv(key)
	if b != profile.Direct {
		return set && v == "0", nil
	}
	if set && v != "0" {
		return false, usagef("--profile-backend direct profiles this process only and needs vLLM's engine core in it: unset %s=%s", key, v)
	}
	os.Setenv(key, "0")
	return true, nil
}

// forExperiment places the plan's traces in the experiment's own directory.
func forExperiment(plan *profile.Plan, name string) *profile.Plan {
	if plan == nil {
		return nil
	}
	p := *plan
	p.Dir = filepath.Join(plan.Dir, name)
	return &p
}

// printProfile shows where the profiled pass's traces went and what each
// trace's report says.
func printProfile(w io.Writer, rec *profile.Record) {
	if rec == nil {
		return
	}
	fmt.Fprintf(w, "  profile     %s backend, traces in %s (open them at https://ui.perfetto.dev)\n", rec.Options.Backend, rec.Dir)
	for _, st := range rec.Steps {
		fmt.Fprintf(w, "    %-9s %8.3f s%s\n", st.Action, st.WallS, stepDetail(st))
	}
	for _, t := range rec.Traces {
		fmt.Fprintln(w)
		profile.WriteTop(w, t.Path, t.Top)
	}
	if rec.Error != "" {
		fmt.Fprintf(w, "  profile failed: %s\n", rec.Error)
	}
}

func stepDetail(st profile.StepRecord) string {
	switch {
	case st.Rollout != nil:
		d := fmt.Sprintf("  %d prompts x n=%d, %d+%d tokens", st.Rollout.NumPrompts, st.Rollout.N, st.Rollout.InputLen, st.Rollout.OutputLen)
		if st.Shape.Range != "" {
			d += fmt.Sprintf(" in range %q", st.Shape.Range)
		}
		return d
	case st.Name != "":
		return "  " + st.Name
	}
	return ""
}

// measured reports whether a result's measurement succeeded, whatever
// became of its profiled pass.
func measured(res any) bool {
	switch r := res.(type) {
	case *result.Offline:
		return r.Status == result.StatusOK
	case *result.Online:
		return r.Status == result.StatusOK
	}
	return false
}
