//go:build e2e

package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// checkMismatch checks what --mismatch added to the matrix of
// TestMatrixOnTinyModel (results in out): both rows scored against the BF16
// reference with the w8a8 row above the bf16 floor, the measured passes
// untouched (the A/A row ran the same configuration without a scored pass),
// and `score` reproducing a row's figures from its samples file and
// refusing a reference of another model.
func checkMismatch(t *testing.T, out, dir string) {
	t.Helper()
	bf16, w8a8 := readResult(t, filepath.Join(out, "tiny_bf16.json")), readResult(t, filepath.Join(out, "tiny_w8a8.json"))
	aa := readResult(t, filepath.Join(out, "tiny_bf16_aa.json"))
	figure := func(r map[string]any, name string) float64 {
		v, ok := lookup(r, "mismatch.metrics."+name+".value").(float64)
		if !ok {
			t.Fatalf("%s: no mismatch figure %s: mismatch %v", r["name"], name, r["mismatch"])
		}
		return v
	}
	for _, r := range []map[string]any{bf16, w8a8} {
		// 4 prompts x n=2 of 16 tokens, all scored (--mismatch-prompts 4).
		if got := lookup(r, "mismatch.metrics.k3_kl.count"); got != 128.0 {
			t.Errorf("%s: k3_kl over %v tokens, want 128", r["name"], got)
		}
		if lookup(r, "mismatch.reference.kind") != "hf" || lookup(r, "mismatch.error") != nil || lookup(r, "mismatch.sampling_params.sampled_logprobs") != true {
			t.Errorf("%s: mismatch %v", r["name"], r["mismatch"])
		}
		if _, err := os.Stat(filepath.Join(out, r["name"].(string)+".samples.jsonl.gz")); err != nil {
			t.Errorf("%s: samples file: %v", r["name"], err)
		}
		// The measured figures are the measured pass's alone.
		rate := lookup(r, "tokens.output_tokens").(float64) / lookup(r, "timings.generate_s").(float64)
		if got := lookup(r, "throughput.output_tokens_per_second").(float64); math.Abs(got-rate) > 1e-6*rate {
			t.Errorf("%s: output tok/s %v, but the measured pass gives %v", r["name"], got, rate)
		}
	}
	// Quantization adds to the mismatch that exists without it.
	for _, name := range []string{"k3_kl", "rollout_probs_diff_max"} {
		if floor, q := figure(bf16, name), figure(w8a8, name); !(q > floor) || !(floor > 0) {
			t.Errorf("%s: w8a8 %g, bf16 floor %g: want w8a8 above a positive floor", name, q, floor)
		}
	}
	// The A/A row is bf16 without --mismatch: its engine and sampling are
	// the scored rows' measured ones.
	if aa["mismatch"] != nil {
		t.Errorf("the A/A row was scored: %v", aa["mismatch"])
	}
	for _, key := range []string{"engine_kwargs", "sampling_params"} {
		if !reflect.DeepEqual(bf16[key], aa[key]) {
			t.Errorf("%s with --mismatch %v, without %v", key, bf16[key], aa[key])
		}
	}
	if _, err := os.Stat(filepath.Join(out, "tiny_bf16_aa.samples.jsonl.gz")); err == nil {
		t.Error("the A/A row wrote a samples file")
	}

	// score reproduces the w8a8 row from its samples file.
	samples := filepath.Join(out, "tiny_w8a8.samples.jsonl.gz")
	reference := lookup(bf16, "spec.engine.model").(string)
	scored := filepath.Join(dir, "w8a8.score.json")
	r := runBinary(t, nil, "score", "--samples", samples, "--reference-model", reference, "--output", scored)
	if r.code != 0 {
		t.Fatalf("score: exit %d\n%s\n%s", r.code, r.stdout, lastLines(r.stderr, 20))
	}
	if got, want := lookup(readResult(t, scored), "mismatch.metrics"), lookup(w8a8, "mismatch.metrics"); !reflect.DeepEqual(got, want) {
		t.Errorf("score's figures differ from the run's:\n%v\n%v", got, want)
	}

	// A reference of another model is refused before it loads.
	for _, tc := range []struct {
		name, want string
		doctor     func(t *testing.T, dir string)
	}{
		{"another shape", "is another model than", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { c["num_hidden_layers"] = c["num_hidden_layers"].(float64) + 1 })
		}},
		{"another vocabulary", "has another vocabulary than", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "tokenizer.json"), func(c map[string]any) {
				v := c["model"].(map[string]any)["vocab"].(map[string]any)
				v["!"], v[`"`] = v[`"`], v["!"]
			})
		}},
	} {
		other := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		copyDir(t, reference, other)
		tc.doctor(t, other)
		r := runBinary(t, nil, "score", "--samples", samples, "--reference-model", other, "--output", filepath.Join(dir, "refused.json"))
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "Traceback") {
			t.Errorf("%s: exit %d, want 1 saying %q:\n%s", tc.name, r.code, tc.want, lastLines(r.stderr, 5))
		}
	}
}

func editJSON(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMismatchRefusesAnotherModelBeforeLoading: a reference that is not the
// rollout's model is refused before the engine loads, not after the
// measured passes.
func TestMismatchRefusesAnotherModelBeforeLoading(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	if r := runBinary(t, nil, "tiny-model", "--out", other); r.code != 0 {
		t.Fatalf("tiny-model: exit %d\n%s", r.code, r.stderr)
	}
	editJSON(t, filepath.Join(other, "config.json"), func(c map[string]any) { c["hidden_size"] = c["hidden_size"].(float64) * 2 })
	out := filepath.Join(dir, "results")
	mark := marker(t)
	r := runBinary(t, []string{mark}, "--mismatch", "--reference-model", other, "--output-dir", out, "--log-dir", dir,
		"--num-prompts", "2", "-n", "2", "--input-len", "16", "--output-len", "8", "--enforce-eager", "--kv-cache-memory", "256MiB")
	if r.code != 1 || !strings.Contains(r.stderr, "mismatch: the reference "+other+" is another model than") {
		t.Fatalf("exit %d, want 1 refusing the reference:\n%s", r.code, lastLines(r.stderr, 10))
	}
	assertNoSurvivors(t, mark)
	res := readResult(t, filepath.Join(out, "tiny_bf16.json"))
	if res["status"] != "failed" || lookup(res, "timings.load_s") != 0.0 {
		t.Errorf("status %v, load %v s: want failed before loading", res["status"], lookup(res, "timings.load_s"))
	}
}
