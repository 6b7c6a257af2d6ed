//go:build !nopython

package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rollbench/rollbench/internal/engine"
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/result"
	runner "github.com/rollbench/rollbench/internal/run"
)

const sessionUsage = `Usage: rollbench-inproc profile --session FILE [flags]

Runs a scripted profiling session: loads the engine as a run with the same
flags would, then runs the file's steps in order (warmup, start, generate
with a shape and an optional range, stop, ...), timing each from Go, and
writes one trace per start/stop pair to --profile-dir/NAME/, a top-operator
report next to each trace, and the steps' timings to
--profile-dir/NAME/SESSION.session.json (SESSION: the file's name).
The file's profiler block chooses the profiler; see configs/profile-session.yaml.
Nothing here is a measurement: run without "profile" for throughput.

Flags: --session FILE, --profile-dir, --profile-top, --name, and every
engine and rollout flag of a plain run (steps override the rollout's sizes).
`

// sessionOnlyFlags are the profile flags a session keeps; its file sets the
// rest.
var sessionOnlyFlags = []string{"--profile-dir", "--profile-top"}

func runProfileSession(ctx context.Context, args []string, stdout io.Writer) error {
	file, rest, err := takeSession(args)
	if err != nil {
		return err
	}
	if file == "" {
		if slices.Contains(rest, "--help") || slices.Contains(rest, "-h") {
			fmt.Fprint(stdout, sessionUsage)
			return errHelp
		}
		return usagef("profile: --session is required")
	}
	for _, a := range rest {
		name, _, _ := strings.Cut(a, "=")
		if strings.HasPrefix(name, "--profile") && !slices.Contains(sessionOnlyFlags, name) || name == "--online" || name == "--config" {
			return usagef("profile: %s does not apply to a session (its file chooses the profiler)", name)
		}
	}
	session, err := profile.LoadSession(file)
	if err != nil {
		return usageError{err}
	}
	o, err := parseOffline(append(rest, "--profile"), stdout)
	if err != nil {
		return err
	}
	plan := o.profile
	plan.Options, plan.Steps = session.Profiler, session.Steps
	if plan.EngineCoreInProcess, err = engineCoreInProcess(plan.Options.Backend); err != nil {
		return err
	}
	in, err := startInterpreter(o.python)
	if err != nil {
		return err
	}
	defer finalize(in)
	if o.spec.Engine.Model == "" {
		o.modelName = "tiny"
		py, err := prepare(o.python)
		if err != nil {
			return err
		}
		if o.spec.Engine.Model, err = engine.EnsureTinyModel(ctx, py, cacheDir(), o.spec.Engine.Quant); err != nil {
			return err
		}
	}
	if o.name == "" {
		o.name = o.modelName + "_" + string(o.spec.Engine.Quant)
	}
	abs, _ := filepath.Abs(file)
	plan = forExperiment(plan, o.name)
	res, runErr := runner.Session(ctx, in, runner.OfflineExperiment{Name: o.name, ModelName: o.modelName, Spec: o.spec, Profile: plan}, abs)
	res.Rollbench = version
	// Beside the traces, not among the measured results that summaries read.
	path := filepath.Join(plan.Dir, strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))+".session.json")
	if err := result.Write(path, res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: profiling session %s on %s\n", res.Name, file, res.Environment.Platform)
	printProfile(stdout, res.Profile)
	fmt.Fprintf(stdout, "  result      %s\n", path)
	if runErr != nil {
		return fmt.Errorf("%w (result saved to %s)", runErr, path)
	}
	return nil
}

// takeSession removes --session and its value from args.
func takeSession(args []string) (string, []string, error) {
	var file string
	var rest []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--session":
			if i+1 >= len(args) {
				return "", nil, usagef("profile: --session needs a file")
			}
			file = args[i+1]
			i++
		case strings.HasPrefix(a, "--session="):
			file = strings.TrimPrefix(a, "--session=")
		default:
			rest = append(rest, a)
		}
	}
	return file, rest, nil
}
