package main

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rollbench/rollbench/cmd/internal/sidebyside"
	"github.com/rollbench/rollbench/internal/golden"
	"github.com/rollbench/rollbench/internal/result"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestArmArgs(t *testing.T) {
	o := options{repeat: 3, prompts: 4}
	for arm, prompts := range map[string]string{sampled: "4", all: "0"} {
		want := []string{"--mismatch", "--mismatch-prompts", prompts, "--repeat", "3", "--enforce-eager", "--name", "tiny_bf16", "--output-dir", "O", "--log-dir", "L"}
		if got := armArgs(o, arm, "O", "L"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", arm, got, want)
		}
	}
}

func TestReadRun(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.json")
	if err := os.WriteFile(ok, []byte(`{"status": "ok", "repetitions": [{"generate_s": 8}, {"generate_s": 12}],
		"mismatch": {"timings": {"scored_pass_s": 2, "reference_score_s": 0.5, "reference_load_s": 7},
		"metrics": {"k3_kl": {"value": 1e-6, "count": 8192, "over": "tokens"}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := readRun(ok)
	if err != nil {
		t.Fatal(err)
	}
	if f.Generate != 10 || f.Ratio != 0.25 || f.ScoredTokens != 8192 || f.K3KL != 1e-6 {
		t.Errorf("readRun = %+v", f)
	}
	failed := filepath.Join(dir, "failed.json")
	if err := os.WriteFile(failed, []byte(`{"status": "ok", "repetitions": [{"generate_s": 8}], "mismatch": {"error": "boom"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readRun(failed); err == nil {
		t.Error("readRun accepted a result without mismatch figures")
	}
}

func TestReport(t *testing.T) {
	rep := report{
		Environment: sidebyside.Environment{Date: "2026-12-02T23:00:00Z", CPU: "AMD EPYC", Cores: 2, MemoryGiB: 24, Go: "go1.26", Rollbench: "abc", VLLM: "0.32.0", Torch: "2.9", Python: "3.11"},
		Workload:    "the tiny model",
	}
	for i, arm := range []string{sampled, all, all, sampled} {
		gen, scale := 9.0+float64(i), 1.0
		if arm == all {
			scale = 8
		}
		tm := result.MismatchTimings{ScoredWarmup: 1, ScoredPass: 1.2 * scale, WriteSamples: 0.01 * scale, ReferenceLoad: 0.1, ReferenceScore: 0.3 * scale}
		rep.Runs = append(rep.Runs, runFigures{Arm: arm, Generate: gen, Timings: tm, Ratio: tm.Cost() / gen, ScoredTokens: 8192 * int(scale), K3KL: 1e-6 * scale})
	}
	summarize(&rep, 4)
	golden.Check(t, filepath.Join("testdata", "report.md"), render(rep), *update)
	if rep.Arms[0].Ratio.N != 2 || rep.Arms[1].Prompts != 0 {
		t.Errorf("arms %+v", rep.Arms)
	}
}
