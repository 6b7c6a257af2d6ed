//go:build e2e

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/metrics"
)

// verlParquet is the fixture written in verl's format: 12 gsm8k-like rows,
// 71 to 197 tokens once the tiny model's chat template is applied.
const verlParquet = "../../workload/dataset/testdata/gsm8k_sample.parquet"

// TestDatasetTooLong refuses, before loading any engine, a dataset whose
// every prompt is over --input-len once filtered.
func TestDatasetTooLong(t *testing.T) {
	mark := marker(t)
	dir := t.TempDir()
	r := runBinary(t, []string{mark}, "--dataset", verlParquet, "--filter-overlong-prompts", "--input-len", "64",
		"--num-prompts", "2", "-n", "2", "--output-len", "16", "--enforce-eager", "--output-dir", dir, "--log-dir", dir, "--name", "long")
	want := "rollbench-inproc: all 12 prompts of " + mustAbs(t, verlParquet) + " are longer than --input-len 64 tokens once templated (the shortest has 71), so --filter-overlong-prompts leaves none"
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, want 1 with %q\nstderr:\n%s", r.code, want, lastLines(r.stderr, 10))
	}
	if strings.Contains(readFile(filepath.Join(dir, "long.log")), "EngineCore") {
		t.Error("an engine started for a dataset that cannot run")
	}
	assertNoSurvivors(t, mark)
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// datasetRepeatRollout is 4 of verl's parquet prompts (the overlong one
// filtered) x n=2, 16 tokens, in three measured passes: --repeat auto with a
// target no host reaches in three, the most it allows.
var datasetRepeatRollout = []string{"--dataset", verlParquet, "--filter-overlong-prompts", "--repeat", "auto", "--target-ci", "0.0001", "--max-repeat", "3",
	"--num-prompts", "4", "-n", "2", "--input-len", "128", "--output-len", "16", "--enforce-eager", "--kv-cache-memory", "1GiB"}

// checkDatasetRepeat checks the tiny model's bf16 and w8a8 results in out,
// run with datasetRepeatRollout: the prompts, the intervals, and the
// summary's significance marks and pictures.
func checkDatasetRepeat(t *testing.T, out string) {
	t.Helper()
	data, err := os.ReadFile(verlParquet)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	samples := map[string][]float64{}
	for _, q := range []string{"bf16", "w8a8", "bf16_aa"} {
		res := readResult(t, filepath.Join(out, "tiny_"+q+".json"))
		if (q == "bf16_aa") != (res["aa"] == true) {
			t.Errorf("%s: aa %v", q, res["aa"])
		}
		if lookup(res, "stop.target_reached") != false || lookup(res, "stop.passes") != 3.0 ||
			!strings.Contains(fmt.Sprint(lookup(res, "stop.reason")), "reached --max-repeat 3 with the interval at") {
			t.Errorf("%s: stop %v", q, res["stop"])
		}
		if res["status"] != "ok" {
			t.Fatalf("%s: %v", q, res["error"])
		}
		// The longest row (197 tokens) is filtered out; 4 of the other 11
		// are drawn, each within --input-len, and the engine saw exactly
		// their tokens.
		for key, want := range map[string]any{
			"dataset.rows_read": 12.0, "dataset.rows_kept": 11.0, "dataset.drawn": 4.0, "dataset.truncated": 0.0,
			"dataset.format": "parquet", "dataset.sha256": hex.EncodeToString(sum[:]), "dataset.path": mustAbs(t, verlParquet),
			"dataset.filter_overlong_prompts": true, "dataset.truncation": "error", "spec.rollout.repeat": 3.0,
		} {
			if got := lookup(res, key); got != want {
				t.Errorf("%s: %s = %v, want %v", q, key, got, want)
			}
		}
		minLen, maxLen, mean := lookup(res, "dataset.prompt_tokens.min"), lookup(res, "dataset.prompt_tokens.max"), lookup(res, "dataset.prompt_tokens.mean")
		if lo, _ := minLen.(float64); lo < 71 {
			t.Errorf("%s: shortest prompt %v tokens, want at least 71", q, minLen)
		}
		if hi, _ := maxLen.(float64); hi > 128 {
			t.Errorf("%s: longest prompt %v tokens, want at most 128", q, maxLen)
		}
		if m, _ := mean.(float64); lookup(res, "tokens.prompt_tokens") != 4*m {
			t.Errorf("%s: engine saw %v prompt tokens, the drawn prompts have 4 x %v", q, lookup(res, "tokens.prompt_tokens"), m)
		}
		for _, w := range res["warnings"].([]any) {
			if strings.Contains(w.(string), "prompt tokens") {
				t.Errorf("%s: %s", q, w)
			}
		}
		reps, _ := res["repetitions"].([]any)
		if len(reps) != 3 {
			t.Fatalf("%s: %d repetitions, want 3", q, len(reps))
		}
		for _, rep := range reps {
			samples[q] = append(samples[q], rep.(map[string]any)["output_tokens_per_second"].(float64))
		}
		est := metrics.NewEstimate(samples[q])
		for key, want := range map[string]float64{"n": 3, "mean": est.Mean, "ci95_low": est.Low, "ci95_high": est.High} {
			if got := lookup(res, "confidence.output_tokens_per_second."+key); got != want {
				t.Errorf("%s: confidence.output_tokens_per_second.%s = %v, want %v", q, key, got, want)
			}
		}
	}

	// The summary marks the speedup as the Welch test over the two
	// results' repetitions says.
	c, ok := metrics.Compare(samples["w8a8"], samples["bf16"])
	if !ok {
		t.Fatalf("no comparison of %v and %v", samples["w8a8"], samples["bf16"])
	}
	// ... unless its interval overlaps the A/A band.
	band, ok := metrics.Compare(samples["bf16_aa"], samples["bf16"])
	within := !ok || band.Low == nil || c.Low == nil || *c.Low <= *band.High && *band.Low <= *c.High
	mark2 := "~"
	switch {
	case within || !c.Significant:
	case c.Ratio > 1:
		mark2 = "^"
	default:
		mark2 = "v"
	}
	txt, err := os.ReadFile(filepath.Join(out, "summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^tiny\s+w8a8\s+ok\s+[0-9.]+ ±[0-9.]+%.*\s([0-9.]+)x (\S) \[([^]]+)\] p=(\S+)`).FindStringSubmatch(string(txt))
	if row == nil || row[2] != mark2 {
		t.Errorf("summary.txt lacks a w8a8 speedup marked %s (ratio %.3f, p %.3g):\n%s", mark2, c.Ratio, c.P, txt)
	}
	// Fieller's interval leaves 1 out exactly when Welch's test finds a
	// difference.
	if c.Low != nil && (*c.Low > 1 || *c.High < 1) != c.Significant {
		t.Errorf("interval [%.3f, %.3f] and p %.3g disagree", *c.Low, *c.High, c.P)
	}
	t.Logf("w8a8 vs bf16: %.3fx, p=%.3g: %s\n%s", c.Ratio, c.P, mark2, txt)

	md, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "- [speedup.png](speedup.png)") {
		t.Errorf("summary.md does not link speedup.png:\n%s", md)
	}
	f, err := os.Open(filepath.Join(out, "speedup.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("speedup.png: %v", err)
	}
	// Pictures of the timeline exactly when the results have one.
	var timeline struct {
		Timeline json.RawMessage `json:"timeline"`
	}
	data, _ = os.ReadFile(filepath.Join(out, "tiny_bf16.json"))
	_ = json.Unmarshal(data, &timeline)
	_, err = os.Stat(filepath.Join(out, "tiny_bf16.cdf.png"))
	if has := timeline.Timeline != nil; has != (err == nil) {
		t.Errorf("result has a timeline: %v; tiny_bf16.cdf.png: %v", has, err)
	}
}
