//go:build e2e

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/profile"
)

// profileRollout is smallRollout with a smaller profiled pass: 1 prompt x
// n=1, 8 output tokens, so the measured and profiled shapes differ.
var profileRollout = append([]string{"--profile", "--profile-num-prompts", "1", "--profile-n", "1", "--profile-output-len", "8"}, smallRollout...)

// traceOps reads a trace rollbench reported: the names of its events, and
// its matrix products by operator, whichever kernel the host's vLLM picked
// (oneDNN, SGL's AMX kernel, torch's own: the GEMM names are profile's).
func traceOps(t *testing.T, path string) (names []string, gemms map[string]int) {
	t.Helper()
	events, err := profile.ReadTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		names = append(names, e.Name)
	}
	return names, profile.GEMMs(events)
}

// checkMeasured asserts the measured figures are the measured shape's
// (3 prompts x n=2 x 16 tokens), not the profiled pass's.
func checkMeasured(t *testing.T, res map[string]any) {
	t.Helper()
	for k, w := range map[string]any{"status": "ok", "tokens.sequences": 6.0, "tokens.output_tokens": 96.0, "num_requests": 3.0} {
		if got := lookup(res, k); got != w {
			t.Errorf("%s = %#v, want %#v (the measured pass's)", k, got, w)
		}
	}
	elapsed, _ := res["elapsed_time"].(float64)
	if tps, _ := res["tokens_per_second"].(float64); elapsed <= 0 || !near(tps, (96+96)/elapsed) {
		t.Errorf("tokens_per_second %v does not come from the measured %v s", tps, elapsed)
	}
}

// profileSteps returns the result's profile steps, by action.
func profileSteps(t *testing.T, res map[string]any, action string) []map[string]any {
	t.Helper()
	steps, _ := lookup(res, "profile.steps").([]any)
	var found []map[string]any
	for _, s := range steps {
		m, _ := s.(map[string]any)
		if m["action"] == action {
			found = append(found, m)
		}
	}
	return found
}

func profileTraces(t *testing.T, res map[string]any) []map[string]any {
	t.Helper()
	traces, _ := lookup(res, "profile.traces").([]any)
	out := make([]map[string]any, len(traces))
	for i, tr := range traces {
		out[i], _ = tr.(map[string]any)
	}
	return out
}

// checkProfiledRun checks the profiled pass of a run of profileRollout
// through vLLM's profiler, with traces in dir, and the trace report.
func checkProfiledRun(t *testing.T, r run1, res map[string]any, dir, log string) {
	t.Helper()
	checkMeasured(t, res)
	if got := lookup(res, "engine_kwargs.profiler_config.torch_profiler_dir"); got != dir {
		t.Errorf("engine's profiler_config dir = %v, want %s", got, dir)
	}
	gen := profileSteps(t, res, "generate")
	if len(gen) != 1 || lookup(gen[0], "rollout.num_prompts") != 1.0 || lookup(gen[0], "rollout.output_len") != 8.0 {
		t.Fatalf("profiled generate step = %v, want 1 prompt x 8 tokens", gen)
	}
	if w, _ := gen[0]["wall_s"].(float64); w <= 0 || w == res["elapsed_time"] {
		t.Errorf("profiled generate took %v s, measured %v s: they must be separate passes", w, res["elapsed_time"])
	}
	traces := profileTraces(t, res)
	if len(traces) == 0 {
		t.Fatalf("no traces recorded: %v", res["profile"])
	}
	gemms := 0
	for _, tr := range traces {
		path, _ := tr["path"].(string)
		if !strings.HasPrefix(path, dir+"/") {
			t.Errorf("trace %s outside the experiment's profile directory", path)
		}
		_, found := traceOps(t, path)
		for _, calls := range found {
			gemms += calls
		}
		report, _ := tr["report"].(string)
		text := readFile(report)
		if !strings.Contains(text, "operators by total CPU time") {
			t.Errorf("report %s:\n%s", report, text)
		}
		// The report names the kernel the model's matrix products ran on.
		for name := range found {
			if !strings.Contains(text, "matrix products: ") || !strings.Contains(text, name+" x") {
				t.Errorf("report %s does not name %s:\n%s", report, name, text)
			}
		}
	}
	if gemms == 0 {
		t.Error("no matrix product of the model in the traces")
	}
	// The printed report names real operators, in rows with their times.
	if !strings.Contains(r.stdout, "operators by total CPU time") || !strings.Contains(r.stdout, "aten::") {
		t.Errorf("stdout lacks the top-operator report:\n%s", r.stdout)
	}
	// vLLM's worker prints its own operator table; it belongs in the
	// engine log, not among the results.
	if strings.Contains(r.stdout, "Self CPU time total") || !strings.Contains(readFile(log), "Self CPU time total") {
		t.Errorf("vLLM's profiler table is not in the engine log alone; stdout:\n%s", r.stdout)
	}
}

// TestProfileSession runs a session file with two shapes through the direct
// profiler: two traces, the range in the first, every step timed.
func TestProfileSession(t *testing.T) {
	mark := marker(t)
	dir := t.TempDir()
	session := filepath.Join(dir, "session.yaml")
	if err := os.WriteFile(session, []byte(`profiler:
  backend: direct
  activities: [cpu]
  record_shapes: true
steps:
  - warmup: {num_prompts: 1, output_len: 4}
  - start: {name: short}
  - generate: {num_prompts: 2, n: 2, output_len: 4, range: short-decode}
  - stop:
  - start: {name: long}
  - generate: {num_prompts: 1, n: 1, output_len: 12}
  - stop:
`), 0o644); err != nil {
		t.Fatal(err)
	}
	profiles := filepath.Join(dir, "profiles")
	r := runBinary(t, []string{mark}, append([]string{"profile", "--session", session, "--name", "sess", "--profile-dir", profiles, "--log-dir", dir}, smallRollout...)...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, lastLines(r.stderr, 40))
	}
	assertNoSurvivors(t, mark)
	res := readResult(t, filepath.Join(profiles, "sess", "session.session.json"))
	if res["status"] != "ok" || lookup(res, "profile.engine_core_in_process") != true {
		t.Errorf("status %v, engine core in process %v", res["status"], lookup(res, "profile.engine_core_in_process"))
	}
	steps, _ := lookup(res, "profile.steps").([]any)
	if len(steps) != 7 {
		t.Fatalf("%d steps recorded, want 7", len(steps))
	}
	for i, s := range steps {
		if w, _ := s.(map[string]any)["wall_s"].(float64); w <= 0 {
			t.Errorf("step %d has wall time %v", i+1, w)
		}
	}
	traces := profileTraces(t, res)
	if len(traces) != 2 || traces[0]["start"] != "short" || traces[1]["start"] != "long" {
		t.Fatalf("traces = %v, want one for short and one for long", traces)
	}
	short, shortGEMMs := traceOps(t, traces[0]["path"].(string))
	long, longGEMMs := traceOps(t, traces[1]["path"].(string))
	if !slices.Contains(short, "short-decode") || slices.Contains(long, "short-decode") {
		t.Error("the range is not in the first trace alone")
	}
	for _, gemms := range []map[string]int{shortGEMMs, longGEMMs} {
		if len(gemms) == 0 {
			t.Error("a trace lacks the model's matrix products")
		}
	}
	if !strings.Contains(r.stdout, "aten::") {
		t.Errorf("stdout lacks the reports:\n%s", r.stdout)
	}
}

// TestProfileFailureKeepsMeasurement: a profile directory that cannot be
// created fails the profiled pass after the measured one, whose result is
// saved with its figures.
func TestProfileFailureKeepsMeasurement(t *testing.T) {
	mark := marker(t)
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results")
	r := runBinary(t, []string{mark}, append([]string{"--output-dir", out, "--log-dir", dir, "--name", "unwritable", "--profile-dir", blocker,
		"--profile-backend", "direct"}, profileRollout...)...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", r.code, lastLines(r.stderr, 20))
	}
	want := "rollbench-inproc: profiled pass: profile directory: mkdir " + blocker + ": not a directory (result saved to " + filepath.Join(out, "unwritable.json") +
		"; engine log " + filepath.Join(dir, "unwritable.log") + ")"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, lastLines(r.stderr, 10))
	}
	assertNoSurvivors(t, mark)
	res := readResult(t, filepath.Join(out, "unwritable.json"))
	checkMeasured(t, res)
	if e, _ := lookup(res, "profile.error").(string); !strings.Contains(e, "not a directory") {
		t.Errorf("profile.error = %q", e)
	}
	if !strings.Contains(r.stdout, "96 prompt, 96 output over 6 sequences") {
		t.Errorf("the measurement's summary is not shown:\n%s", r.stdout)
	}
}

// TestProfileNPUWithoutTorchNPU asks the real interpreter, which has no
// torch_npu, for NPU profiling: refused before any engine loads.
func TestProfileNPUWithoutTorchNPU(t *testing.T) {
	mark := marker(t)
	logs := t.TempDir()
	r := runBinary(t, []string{mark}, append([]string{"--output-dir", t.TempDir(), "--log-dir", logs, "--name", "npu", "--profile-dir", t.TempDir(), "--profile-backend", "direct",
		"--profile-activities", "cpu,npu", "--profile-npu-level", "Level1"}, profileRollout...)...)
	want := "rollbench-inproc: NPU profiling needs torch_npu, which "
	if r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "No module named 'torch_npu'") {
		t.Errorf("exit %d, want 1 with %q:\n%s", r.code, want, lastLines(r.stderr, 10))
	}
	if strings.Contains(readFile(filepath.Join(logs, "npu.log")), "init engine") {
		t.Error("an engine was started for a profiler that cannot run")
	}
	assertNoSurvivors(t, mark)
}

// checkProfiledOnline checks an online run with the profiled pass
// (onlineProfile): vllm serve started with --profiler-config, and a
// profiled pass of its own requests between /start_profile and
// /stop_profile after the measured run.
func checkProfiledOnline(t *testing.T, res map[string]any) {
	t.Helper()
	// The measured run's figures count its 6 requests only.
	for k, w := range map[string]any{"status": "ok", "completed": 6.0, "total_output_tokens": 96.0, "server_counters.vllm:generation_tokens_total": 96.0} {
		if got := lookup(res, k); got != w {
			t.Errorf("%s = %#v, want %#v", k, got, w)
		}
	}
	cmd, _ := res["server_command"].([]any)
	if !slices.ContainsFunc(cmd, func(a any) bool { return a == "--profiler-config" }) {
		t.Errorf("server started without --profiler-config: %v", cmd)
	}
	traces := profileTraces(t, res)
	gemms := 0
	for _, tr := range traces {
		_, found := traceOps(t, tr["path"].(string))
		for _, calls := range found {
			gemms += calls
		}
	}
	if len(traces) == 0 || gemms == 0 {
		t.Errorf("%d traces, without the model's matrix products", len(traces))
	}
}
