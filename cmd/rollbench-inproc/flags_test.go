package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/golden"
	"github.com/rollbench/rollbench/workload"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestBadInput runs every invocation a user can get wrong before anything is
// loaded, and compares what they see (stderr and exit status) with
// testdata/bad_input.golden.
func TestBadInput(t *testing.T) {
	models := t.TempDir()
	noConfig := filepath.Join(models, "empty")
	plain := filepath.Join(models, "plain")
	quantized := filepath.Join(models, "quantized")
	for _, d := range []string{noConfig, plain, quantized} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(plain, "config.json"), []byte(`{"model_type": "qwen3"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(quantized, "config.json"), []byte(`{"model_type": "qwen3", "quantization_config": {"quant_method": "compressed-tensors"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(models, "corrupt.samples.jsonl.gz")
	if err := os.WriteFile(corrupt, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
	}{
		{"missing model directory", []string{"--model", filepath.Join(models, "nope")}},
		{"directory without config.json", []string{"--model", noConfig}},
		{"unknown quantization", []string{"--quant", "w4a4"}},
		{"quantization the checkpoint lacks", []string{"--model", plain, "--quant", "w8a8"}},
		{"n zero", []string{"-n", "0"}},
		{"impossible lengths", []string{"--input-len", "700", "--output-len", "256"}},
		{"several problems", []string{"--num-prompts", "0", "--gpu-mem-util", "1.5"}},
		{"bad kv cache size", []string{"--kv-cache-memory", "lots"}},
		{"unknown flag", []string{"--temperature", "0.7"}},
		{"not a number", []string{"--num-prompts", "many"}},
		{"stray argument", []string{"w8a8"}},
		{"malformed config", []string{"--config", "testdata/malformed.yaml"}},
		{"missing config", []string{"--config", "testdata/nope.yaml"}},
		{"unknown model", []string{"--config", "../../configs/tiny.yaml", "--models", "tiny,huge"}},
		{"unknown quantization in --quants", []string{"--config", "../../configs/tiny.yaml", "--quants", "bf16,int4"}},
		{"empty selection", []string{"--config", "../../configs/tiny.yaml", "--models", ""}},
		{"missing model base", []string{"--config", "testdata/relative.yaml"}},
		{"lengths beyond a model's max_model_len", []string{"--config", "../../configs/models.example.yaml", "--model-base", "testdata", "--input-len", "600"}},
		{"--model with --config", []string{"--config", "../../configs/tiny.yaml", "--model", "x"}},
		{"matrix flag without --config", []string{"--resume"}},
		{"dataset without a prompt column", []string{"--dataset", "../../workload/dataset/testdata/no_prompt.parquet"}},
		{"corrupt dataset", []string{"--dataset", "../../workload/dataset/testdata/corrupt.parquet"}},
		{"missing dataset", []string{"--dataset", "../../workload/dataset/testdata/nope.jsonl"}},
		{"unknown truncation", []string{"--dataset", "../../workload/dataset/testdata/plain.jsonl", "--truncation", "both"}},
		{"dataset flag without --dataset", []string{"--filter-overlong-prompts"}},
		{"dataset online", []string{"--online", "--dataset", "../../workload/dataset/testdata/plain.jsonl"}},
		{"negative request rate", []string{"--online", "--request-rate", "-3"}},
		{"request rate offline", []string{"--request-rate", "10"}},
		{"repeat zero", []string{"--repeat", "0"}},
		{"fresh engine without repetitions", []string{"--fresh-engine"}},
		{"repeat neither a number nor auto", []string{"--repeat", "some"}},
		{"target without --repeat auto", []string{"--target-ci", "0.05"}},
		{"target of 0", []string{"--repeat", "auto", "--target-ci", "0"}},
		{"too few passes for auto", []string{"--repeat", "auto", "--max-repeat", "2"}},
		{"repeat auto online", []string{"--online", "--repeat", "auto"}},
		{"paired without --config", []string{"--paired"}},
		{"paired online", []string{"--config", "../../configs/tiny.yaml", "--paired", "--online"}},
		{"paired with --profile", []string{"--config", "../../configs/tiny.yaml", "--paired", "--profile"}},
		{"paired with --fresh-engine", []string{"--config", "../../configs/tiny.yaml", "--paired", "--repeat", "3", "--fresh-engine"}},
		{"paired with one round", []string{"--config", "../../configs/tiny.yaml", "--paired", "--repeat", "1"}},
		{"paired shares beyond the device", []string{"--config", "../../configs/tiny.yaml", "--paired"}},
		{"paired diagnostic", []string{"--diagnostic", "--config", "../../configs/tiny.yaml", "--paired"}},
		{"malformed length distribution", []string{"--output-len-dist", "lognormal:120,0.8"}},
		{"unknown length distribution", []string{"--output-len-dist", "zipf:2"}},
		{"unreadable length file", []string{"--output-len-dist", "file:testdata/nope.txt"}},
		{"empty length file", []string{"--output-len-dist", "file:testdata/lengths_empty.txt"}},
		{"lengths beyond max_model_len - input_len", []string{"--output-len-dist", "uniform:64-300"}},
		{"--output-len with --output-len-dist", []string{"--output-len", "64", "--output-len-dist", "fixed:64"}},
		{"unknown rollout mode", []string{"--rollout-mode", "streaming"}},
		{"unknown preset", []string{"--preset", "openrlhf"}},
		{"rollout shape with --online", []string{"--online", "--rollout-mode", "async"}},
		{"summarize without a directory", []string{"summarize"}},
		{"summarize a missing directory", []string{"summarize", "testdata/nope"}},
		{"tiny-model without --out", []string{"tiny-model"}},
		{"tiny-model unknown quantization", []string{"tiny-model", "--out", "x", "--quant", "fp4"}},
		{"profile option without --profile", []string{"--profile-backend", "direct"}},
		{"--profile with --no-profile", []string{"--profile", "--no-profile"}},
		{"unknown profile backend", []string{"--profile", "--profile-backend", "nsight"}},
		{"unknown profile activity", []string{"--profile", "--profile-activities", "cpu,gpu"}},
		{"NPU level without NPU activity", []string{"--profile", "--profile-backend", "direct", "--profile-npu-level", "Level1"}},
		{"unknown AIC metrics", []string{"--profile", "--profile-backend", "direct", "--profile-activities", "npu", "--profile-aic-metrics", "Flops"}},
		{"direct profiler online", []string{"--online", "--profile", "--profile-backend", "direct"}},
		{"profile with --diagnostic", []string{"--diagnostic", "--profile"}},
		{"session without a file", []string{"profile"}},
		{"malformed session file", []string{"profile", "--session", "../../internal/profile/testdata/sessions/unknown_key.yaml"}},
		{"profiler flag in a session", []string{"profile", "--session", "../../configs/profile-session.yaml", "--profile-backend", "vllm"}},
		{"empty engine log", []string{"--engine-log", ""}},
		{"reference without --mismatch", []string{"--reference", "vllm"}},
		{"unknown reference", []string{"--mismatch", "--reference", "trl"}},
		{"mismatch online", []string{"--online", "--mismatch"}},
		{"mismatch online matrix", []string{"--config", "../../configs/tiny.yaml", "--online", "--mismatch"}},
		{"negative mismatch prompts", []string{"--mismatch", "--mismatch-prompts", "-1"}},
		{"quantized rollout without a reference", []string{"--model", quantized, "--quant", "w8a8", "--mismatch"}},
		{"missing reference model", []string{"--mismatch", "--reference-model", filepath.Join(models, "nope")}},
		{"quantized reference model", []string{"--mismatch", "--reference-model", quantized}},
		{"matrix model without bf16", []string{"--config", "testdata/nobf16.yaml", "--mismatch"}},
		{"one reference for several models", []string{"--config", "../../configs/models.example.yaml", "--model-base", "testdata", "--mismatch", "--reference-model", plain}},
		{"mismatch paired", []string{"--config", "../../configs/tiny.yaml", "--paired", "--mismatch"}},
		{"mismatch diagnostic", []string{"--diagnostic", "--mismatch"}},
		{"score without --samples", []string{"score"}},
		{"score a missing file", []string{"score", "--samples", filepath.Join(models, "nope.samples.jsonl.gz")}},
		{"score a corrupt file", []string{"score", "--samples", corrupt}},
		{"score with an unknown reference", []string{"score", "--samples", corrupt, "--reference", "trl"}},
		{"engine log with --config", []string{"--config", "../../configs/tiny.yaml", "--engine-log", "x.log"}},
		{"dispatch without replicas", []string{"--dispatch", "split"}},
		{"zero replicas", []string{"--data-parallel-size", "0"}},
		{"unknown dispatch", []string{"--data-parallel-size", "2", "--dispatch", "round-robin"}},
		{"more split replicas than prompts", []string{"--data-parallel-size", "4", "--num-prompts", "2"}},
		{"replicas online", []string{"--online", "--data-parallel-size", "2"}},
		{"replicas with --mismatch", []string{"--data-parallel-size", "2", "--mismatch"}},
		{"replicas with --profile", []string{"--data-parallel-size", "2", "--profile"}},
		{"replicas paired", []string{"--config", "../../configs/tiny.yaml", "--paired", "--data-parallel-size", "2"}},
		{"replicas diagnostic", []string{"--diagnostic", "--data-parallel-size", "2"}},
		{"data-parallel size with --fresh-engine", []string{"--data-parallel-size", "2", "--repeat", "2", "--fresh-engine"}},
		{"dispatch in a matrix without replicas", []string{"--config", "../../configs/tiny.yaml", "--ray-address", "10.0.0.1:6379"}},
		{"data-parallel size with --fresh-engine in a matrix", []string{"--config", "../../configs/tiny.yaml", "--data-parallel-size", "2", "--repeat", "2", "--fresh-engine"}},
		{"model's data-parallel size online", []string{"--config", "testdata/dp.yaml", "--online"}},
		{"model's data-parallel size paired", []string{"--config", "testdata/dp.yaml", "--paired", "--kv-cache-memory", "1GiB"}},
		{"model's data-parallel size with --mismatch", []string{"--config", "testdata/dp.yaml", "--mismatch"}},
		{"model's data-parallel size over more replicas than prompts", []string{"--config", "testdata/dp.yaml", "--num-prompts", "1"}},
		{"unknown dispatch for a model's data-parallel size", []string{"--config", "testdata/dp.yaml", "--dispatch", "round-robin"}},
	}
	// The checks before loading, past validation: where results go, and
	// the environment.
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(tmp, "results")
	dynamo := []string{"TORCHDYNAMO_DISABLE=1"}
	beforeLoading := []struct {
		name string
		env  []string
		args []string
	}{
		{"output directory is a file", nil, []string{"--output-dir", file}},
		{"output directory below a file", nil, []string{"--output-dir", filepath.Join(file, "results")}},
		{"no room for the result", nil, []string{"--output-dir", results, "--num-prompts", "1000000000000", "-n", "1000000", "--input-len", "8", "--output-len", "8"}},
		{"session directory is a file", nil, []string{"profile", "--session", "../../configs/profile-session.yaml", "--profile-dir", file}},
		{"TorchDynamo disabled, not eager", dynamo, []string{"--output-dir", results}},
		{"TorchDynamo disabled, online", dynamo, []string{"--online", "--output-dir", results}},
		{"TorchDynamo disabled, matrix", dynamo, []string{"--config", "../../configs/tiny.yaml", "--output-dir", results}},
		{"TorchDynamo disabled, session", dynamo, []string{"profile", "--session", "../../configs/profile-session.yaml", "--profile-dir", results}},
	}
	// The environment the traps read is each case's alone; the defaults
	// that come from it, fixed.
	t.Setenv("ROLLBENCH_PYTHON", "/usr/bin/python3")
	for _, k := range trapVariables {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	var got bytes.Buffer
	check := func(name string, env, args []string) {
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
			defer os.Unsetenv(k)
		}
		var stdout, stderr bytes.Buffer
		code := exitCode(run(context.Background(), args, &stdout, &stderr), &stderr)
		if stdout.Len() > 0 {
			t.Errorf("%s: wrote to stdout: %q", name, stdout.String())
		}
		if code != 2 {
			t.Errorf("%s: exit status %d, want 2", name, code)
		}
		out := "== " + name + ": " + strings.Join(append(env, args...), " ") + "\n" + stderr.String()
		out = strings.NewReplacer(models, "$MODELS", tmp, "$TMP").Replace(out)
		got.WriteString(freeSpace.ReplaceAllString(out, "$$FREE free"))
	}
	for _, tc := range cases {
		check(tc.name, nil, tc.args)
	}
	for _, tc := range beforeLoading {
		check(tc.name, tc.env, tc.args)
	}
	golden.Check(t, filepath.Join("testdata", "bad_input.golden"), []byte(got.String()), *update)
	if entries, _ := os.ReadDir(tmp); len(entries) != 1 {
		t.Errorf("checks before loading left files: %v", entries)
	}
}

// freeSpace is the free space a message reports, which differs by host.
var freeSpace = regexp.MustCompile(`[0-9.]+ [KMGTPE]?i?B free`)

func TestHelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage: rollbench-inproc", "--num-prompts", "--gpu-mem-util", "(default 0.4)", "--python"}},
		{[]string{"-h"}, []string{"--output-len", "(default 256)"}},
		{[]string{"tiny-model", "--help"}, []string{"Usage: rollbench-inproc tiny-model", "--out"}},
		{[]string{"--version"}, []string{"rollbench-inproc dev"}},
	} {
		var stdout, stderr bytes.Buffer
		if code := exitCode(run(context.Background(), tc.args, &stdout, &stderr), &stderr); code != 0 {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%v: output lacks %q", tc.args, w)
			}
		}
	}
}

// TestHelp compares every --help with testdata/help.golden.
func TestHelp(t *testing.T) {
	// The defaults that come from the environment, fixed.
	t.Setenv("ROLLBENCH_PYTHON", "/usr/bin/python3")
	t.Setenv("ROLLBENCH_MODEL_BASE", "")
	var got bytes.Buffer
	for _, args := range [][]string{{"--help"}, {"tiny-model", "--help"}, {"summarize", "--help"}, {"mock-server", "--help"}, {"profile", "--help"}} {
		var stdout, stderr bytes.Buffer
		if code := exitCode(run(context.Background(), args, &stdout, &stderr), &stderr); code != 0 || stderr.Len() > 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
		got.WriteString("== " + strings.Join(args, " ") + "\n" + stdout.String())
	}
	golden.Check(t, filepath.Join("testdata", "help.golden"), []byte(got.String()), *update)
	if strings.Contains(got.String(), "[=") {
		t.Errorf("--help shows a flag's optional value; booleans are plain --flag")
	}
}

func TestEveryFlagHasHelp(t *testing.T) {
	var stdout bytes.Buffer
	_ = run(context.Background(), []string{"--help"}, &stdout, io.Discard)
	for _, line := range strings.Split(stdout.String(), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && strings.HasPrefix(fields[0], "-") && len(fields) < 3 {
			t.Errorf("flag without help text: %q", line)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1GiB", 1 << 30, true},
		{"512MiB", 512 << 20, true},
		{"1.5 GiB", 3 << 29, true},
		{"2GB", 2e9, true},
		{"4096", 4096, true},
		{"10B", 10, true},
		{"0", 0, false},
		{"-1GiB", 0, false},
		{"GiB", 0, false},
		{"1TiB", 0, false},
	} {
		got, err := parseBytes(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestRolloutFlags(t *testing.T) {
	for _, tc := range []struct {
		args           []string
		mode           workload.Mode
		maxNumSeqs     int
		outputLen      int
		verlRule, dist bool
		preset         string
	}{
		{args: nil, mode: workload.Sync, maxNumSeqs: 1024, outputLen: 256},
		{args: []string{"--rollout-mode", "async"}, mode: workload.Async, maxNumSeqs: 1024, outputLen: 256},
		{args: []string{"--preset", "verl-async"}, mode: workload.Async, maxNumSeqs: 256, outputLen: 256, verlRule: true, preset: "verl-async"},
		// Flags given explicitly win over the preset.
		{args: []string{"--preset", "verl-async", "--rollout-mode", "sync", "--max-num-seqs", "64"}, mode: workload.Sync, maxNumSeqs: 64, outputLen: 256, verlRule: true, preset: "verl-async"},
		{args: []string{"--output-len-dist", "uniform:8-100"}, mode: workload.Sync, maxNumSeqs: 1024, outputLen: 100, dist: true},
	} {
		cmd, err := parse(tc.args, io.Discard)
		if err == nil {
			err = cmd.Validate()
		}
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		o := cmd.(*offlineOptions)
		r := o.spec.Rollout
		if r.Mode != tc.mode || o.spec.Engine.MaxNumSeqs != tc.maxNumSeqs || r.OutputLen != tc.outputLen ||
			r.VerlMaxTokens != tc.verlRule || (r.Lengths != nil) != tc.dist || r.Preset != tc.preset {
			t.Errorf("%v: mode %s, max-num-seqs %d, output-len %d, verl rule %v, distribution %v, preset %q",
				tc.args, r.Mode, o.spec.Engine.MaxNumSeqs, r.OutputLen, r.VerlMaxTokens, r.Lengths, r.Preset)
		}
	}
}

// TestDirectProfilerEnvironment checks that validation changes no
// environment variable: the direct backend's need for the engine core in
// this process travels in the plan to where the interpreter starts.
func TestDirectProfilerEnvironment(t *testing.T) {
	t.Setenv(multiprocessingKey, "")
	os.Unsetenv(multiprocessingKey)
	cmd, err := parse([]string{"--profile", "--profile-backend", "direct"}, io.Discard)
	if err == nil {
		err = cmd.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	if v, set := os.LookupEnv(multiprocessingKey); set {
		t.Errorf("validation set %s=%s", multiprocessingKey, v)
	}
	o := cmd.(*offlineOptions)
	o.named()
	x := o.experiment()
	if !x.engineCoreInProcess() || !x.Profile.EngineCoreInProcess {
		t.Errorf("the plan does not carry the engine core's place: %+v", x.Profile)
	}
}

func TestEngineEnv(t *testing.T) {
	base := map[string]string{"VLLM_WORKER_MULTIPROC_METHOD": "spawn", "HF_HUB_OFFLINE": "1", "VLLM_LOGGING_STREAM": "ext://sys.stderr", "SPT_NOENV": "1"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := maps.Clone(m)
		out[k] = v
		return out
	}
	without := func(m map[string]string, k string) map[string]string {
		out := maps.Clone(m)
		delete(out, k)
		return out
	}
	for _, tc := range []struct {
		name      string
		set       map[string]string
		inProcess bool
		want      map[string]string
	}{
		{"defaults", nil, false, base},
		{"engine core in process", nil, true, with(base, multiprocessingKey, "0")},
		// What the user set stays as it is.
		{"user's choice", map[string]string{"HF_HUB_OFFLINE": "0", multiprocessingKey: "0"}, true, without(base, "HF_HUB_OFFLINE")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.set[k]; return v, ok }
			if got := engineEnv(lookup, tc.inProcess); !maps.Equal(got, tc.want) {
				t.Errorf("engineEnv = %v, want %v", got, tc.want)
			}
		})
	}
}
