package main

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/workload"
)

// A mode that loads an engine checks, once its options are valid and
// before anything loads, what would otherwise fail only after a load of a
// minute or more: that this binary can run it, that its results can be
// written, and that the environment holds no known trap. Unlike Validate
// this looks outside the command line, at the file system and at the
// environment (read through lookup).
type preflighted interface {
	checkBeforeLoading(lookup func(string) (string, bool)) error
}

func (o *offlineOptions) checkBeforeLoading(lookup func(string) (string, bool)) error {
	return firstError(
		func() error { return embedded("offline runs embed") },
		func() error {
			need := result.SizeBound(o.spec, false)
			if o.mismatch.on {
				need += result.SamplesBound(o.spec, o.mismatch.prompts)
			}
			return checkOutputDir("output-dir", o.outputDir, need)
		},
		func() error { return checkTraps(lookup, eager(o.spec)) })
}

func (o *onlineOptions) checkBeforeLoading(lookup func(string) (string, bool)) error {
	return firstError(
		func() error {
			return checkOutputDir("output-dir", o.outputDir, result.SizeBound(o.spec, o.client.saveRequests))
		},
		// vllm serve inherits the environment.
		func() error { return checkTraps(lookup, eager(o.spec) || o.client.eagerServer()) })
}

// picturesBound is a generous bound on the bytes of an experiment's
// pictures beside the summaries.
const picturesBound = 1 << 20

func (o *matrixOptions) checkBeforeLoading(lookup func(string) (string, bool)) error {
	if o.online == nil {
		if err := embedded("offline runs embed"); err != nil {
			return err
		}
	}
	var need int64
	// An experiment's engine_args may set enforce_eager: the first trap
	// found is named with the experiments that fall into it.
	var caught *trap
	var trapped []string
	for _, p := range o.planned {
		need += result.SizeBound(p.Spec, o.online != nil && o.online.saveRequests) + picturesBound
		if x, ok := p.Payload.(experiment); ok && x.Mismatch != nil {
			need += result.SamplesBound(p.Spec, x.Mismatch.Prompts)
		}
		if p.Skip != "" || p.Fail != "" {
			continue
		}
		t := fallsInto(lookup, eager(p.Spec) || o.online != nil && o.online.eagerServer())
		if t != nil && caught == nil {
			caught = t
		}
		if t != nil && t == caught {
			trapped = append(trapped, p.Name)
		}
	}
	return firstError(
		func() error { return checkOutputDir("output-dir", o.outputDir, need) },
		func() error {
			if caught != nil {
				return caught.refuse(strings.Join(trapped, ", "))
			}
			return nil
		})
}

func (o *diagnosticOptions) checkBeforeLoading(func(string) (string, bool)) error {
	spec := o.spec
	spec.Rollout.NumPrompts = 4 // the diagnostic's own run
	return firstError(
		func() error { return embedded("--diagnostic embeds") },
		func() error { return checkOutputDir("output-dir", o.outputDir, result.SizeBound(spec, false)) })
}

func (o *sessionOptions) checkBeforeLoading(lookup func(string) (string, bool)) error {
	r := o.offline
	return firstError(
		func() error { return embedded("profile sessions embed") },
		// The session's result goes beside its traces.
		func() error {
			return checkOutputDir("profile-dir", r.profile.plan.Dir, result.SizeBound(r.spec, false))
		},
		func() error { return checkTraps(lookup, eager(r.spec)) })
}

// checkOutputDir checks the directory flag names for a result of need
// bytes.
func checkOutputDir(flag, dir string, need int64) error {
	if err := result.CheckDir(dir, need); err != nil {
		return usagef("--%s %s: %v", flag, dir, err)
	}
	return nil
}

// eager reports whether the engine of spec runs eagerly: its engine_args,
// which win, or --enforce-eager.
func eager(spec workload.Spec) bool {
	v, _ := engine.Kwargs(spec.Engine)["enforce_eager"].(bool)
	return v
}

// eagerServer reports whether the server's own arguments make it eager.
func (c *clientOptions) eagerServer() bool {
	return slices.Contains(c.serverArgs, "--enforce-eager")
}

// trap is a setting of the environment known to make vLLM's engine fail
// at start, far from the cause in what it prints.
type trap struct {
	// set reports whether an engine, eager or not, falls into the trap in
	// the environment lookup reads.
	set func(lookup func(string) (string, bool), eager bool) bool
	// problem is what goes wrong, and fix what to do about it.
	problem, fix string
}

// traps are those known of vLLM 0.32.
var traps = []trap{{
	// With TorchDynamo disabled torch.compile hands back the model's
	// forward unchanged, and vLLM's AOT compilation finds no aot_compile
	// on it; an eager engine compiles nothing.
	set: func(lookup func(string) (string, bool), eager bool) bool {
		v, _ := lookup("TORCHDYNAMO_DISABLE")
		return v == "1" && !eager && aotCompile(lookup)
	},
	problem: "TORCHDYNAMO_DISABLE=1 without --enforce-eager makes vLLM's engine fail at start (aot_compile is not supported by the current configuration)",
	fix:     "pass --enforce-eager or unset TORCHDYNAMO_DISABLE",
}}

// aotCompile is vLLM's VLLM_USE_AOT_COMPILE: on unless set otherwise or
// VLLM_DISABLE_COMPILE_CACHE turns its default off (vllm/envs.py, with the
// torch 2.10 or later it requires).
func aotCompile(lookup func(string) (string, bool)) bool {
	if v, ok := lookup("VLLM_USE_AOT_COMPILE"); ok {
		return v == "1"
	}
	v, _ := lookup("VLLM_DISABLE_COMPILE_CACHE")
	n, err := strconv.Atoi(cmp.Or(v, "0"))
	return err != nil || n == 0
}

// fallsInto returns the first known trap an engine falls into, or nil.
func fallsInto(lookup func(string) (string, bool), eager bool) *trap {
	for i := range traps {
		if traps[i].set(lookup, eager) {
			return &traps[i]
		}
	}
	return nil
}

// checkTraps refuses an engine that falls into a known trap.
func checkTraps(lookup func(string) (string, bool), eager bool) error {
	if t := fallsInto(lookup, eager); t != nil {
		return t.refuse("")
	}
	return nil
}

// refuse says what goes wrong and what to do about it; who, when set,
// names the experiments that fall into the trap.
func (t *trap) refuse(who string) error {
	if who != "" {
		return usagef("%s: %s: %s", who, t.problem, t.fix)
	}
	return usagef("%s: %s", t.problem, t.fix)
}
