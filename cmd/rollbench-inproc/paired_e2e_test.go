//go:build e2e

package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/metrics"
)

// pairedTarget is a half width the tiny model's paired rounds reach here
// in 8 to 12 rounds: their passes of under a second vary by 20-40% on this
// 2-core host, and the rounds' log ratios by 0.35-0.55; a host with twice
// that spread still reaches it before pairedMaxRounds.
const (
	pairedTarget    = 0.75
	pairedMaxRounds = 20
)

// TestPairedOnTinyModel runs the built-in model's matrix with --paired and
// --repeat auto: bf16, w8a8 and the A/A arm loaded in one experiment
// process, measured in alternating rounds until the speedups' intervals
// are within the target.
func TestPairedOnTinyModel(t *testing.T) {
	dir := t.TempDir()
	out, logs := filepath.Join(dir, "results"), filepath.Join(dir, "logs")
	mark := marker(t)
	r := runBinary(t, []string{mark}, "--config", "../../configs/tiny.yaml", "--paired", "--repeat", "auto",
		"--target-ci", fmt.Sprint(pairedTarget), "--max-repeat", fmt.Sprint(pairedMaxRounds), "--output-dir", out, "--log-dir", logs,
		"--num-prompts", "16", "-n", "4", "--input-len", "128", "--output-len", "64", "--enforce-eager", "--kv-cache-memory", "256MiB")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, lastLines(r.stderr, 20))
	}
	assertNoSurvivors(t, mark)
	for _, want := range []string{"[1/2] tiny_paired: ok, w8a8 ", "bf16 (A/A) ", "[2/2] tiny_w8a16: skipped"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("progress lacks %q:\n%s", want, r.stdout)
		}
	}
	res := readResult(t, filepath.Join(out, "tiny_paired.json"))
	if res["status"] != "ok" || res["schema"] != "rollbench.paired/1" {
		t.Fatalf("status %v (%v), schema %v", res["status"], res["error"], res["schema"])
	}

	// Three engines, each its own record, all of one process.
	arms, _ := res["arms"].([]any)
	var labels []string
	samples := map[string][]float64{}
	type pass struct {
		arm         string
		start, took float64
	}
	var passes []pass
	rounds := int(res["rounds"].(float64))
	for _, a := range arms {
		arm := a.(map[string]any)
		label := lookup(arm, "spec.engine.quant").(string)
		if arm["aa"] == true {
			label += " (A/A)"
		}
		labels = append(labels, label)
		if arm["status"] != "ok" || arm["engine_counters"] != nil {
			t.Errorf("%s: status %v, engine counters %v", label, arm["status"], arm["engine_counters"])
		}
		reps, _ := arm["repetitions"].([]any)
		if len(reps) != rounds {
			t.Fatalf("%s: %d repetitions in %d rounds", label, len(reps), rounds)
		}
		for _, rep := range reps {
			m := rep.(map[string]any)
			samples[label] = append(samples[label], m["output_tokens_per_second"].(float64))
			passes = append(passes, pass{label, m["start_s"].(float64), m["generate_s"].(float64)})
		}
	}
	if want := []string{"bf16", "w8a8", "bf16 (A/A)"}; !slices.Equal(labels, want) {
		t.Fatalf("arms %v, want %v", labels, want)
	}
	bf16, w8a8 := arms[0].(map[string]any), arms[1].(map[string]any)
	if lookup(w8a8, "engine_kwargs.model") == lookup(bf16, "engine_kwargs.model") || lookup(arms[2].(map[string]any), "engine_kwargs.model") != lookup(bf16, "engine_kwargs.model") {
		t.Errorf("models: %v, %v, %v", lookup(bf16, "engine_kwargs.model"), lookup(w8a8, "engine_kwargs.model"), lookup(arms[2].(map[string]any), "engine_kwargs.model"))
	}

	// Never two passes at once, in the order recorded: forward, then
	// backward, round after round.
	slices.SortFunc(passes, func(a, b pass) int { return int(math.Copysign(1, a.start-b.start)) })
	order, _ := res["order"].([]any)
	if len(order) != rounds {
		t.Fatalf("order of %d rounds, %d ran", len(order), rounds)
	}
	for i, p := range passes {
		round, k := i/len(labels), i%len(labels)
		want := labels[k]
		if round%2 == 1 {
			want = labels[len(labels)-1-k]
		}
		if p.arm != want || order[round].([]any)[k] != want {
			t.Errorf("pass %d (round %d) ran %s, recorded %v, want %s", i, round+1, p.arm, order[round], want)
		}
		if i > 0 && passes[i-1].start+passes[i-1].took > p.start {
			t.Errorf("pass %d started at %.3f s, before pass %d ended at %.3f s", i, p.start, i-1, passes[i-1].start+passes[i-1].took)
		}
	}

	// The stop: the target reached before the most rounds, at a look, with
	// the interval the result's comparisons have, corrected for the looks.
	rule := metrics.Sequential{Target: pairedTarget, Max: pairedMaxRounds}
	if lookup(res, "stop.target_reached") != true || rounds >= pairedMaxRounds || !rule.Looking(rounds) ||
		!strings.Contains(lookup(res, "stop.reason").(string), fmt.Sprintf("within ±%.1f%%", 100*pairedTarget)) {
		t.Errorf("stopped after %d rounds: %v", rounds, res["stop"])
	}
	comparisons, _ := res["comparisons"].([]any)
	if len(comparisons) != 2 {
		t.Fatalf("comparisons %v", comparisons)
	}
	widest := 0.0
	for i, c := range comparisons {
		c := c.(map[string]any)
		want, _ := metrics.Paired(samples[labels[i+1]], samples["bf16"], rule.NumLooks())
		if c["arm"] != labels[i+1] || !near(c["ratio"].(float64), want.Ratio) || !near(c["ci_low"].(float64), want.Low) || c["looks"] != float64(rule.NumLooks()) {
			t.Errorf("comparison %v, recomputed %+v", c, want)
		}
		widest = max(widest, want.HalfWidth())
	}
	if widest > pairedTarget {
		t.Errorf("stopped with a half width of %.3f", widest)
	}

	// The summary has the A/A row with its interval, and marks w8a8 as its
	// interval and the A/A band say.
	txt, err := os.ReadFile(filepath.Join(out, "summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	speedup, _ := metrics.Paired(samples["w8a8"], samples["bf16"], rule.NumLooks())
	aa, _ := metrics.Paired(samples["bf16 (A/A)"], samples["bf16"], rule.NumLooks())
	mark2 := "~"
	switch {
	case speedup.Overlaps(aa) || !speedup.Significant:
	case speedup.Ratio > 1:
		mark2 = "^"
	default:
		mark2 = "v"
	}
	if !regexp.MustCompile(`(?m)^tiny\s+bf16 \(A/A\)\s+ok\s.*\s[0-9.]+x \S? ?\[[0-9.]+, [0-9.]+\] p=\S+ paired`).Match(txt) {
		t.Errorf("summary.txt has no A/A row with an interval:\n%s", txt)
	}
	row := regexp.MustCompile(`(?m)^tiny\s+w8a8\s+ok\s.*\s[0-9.]+x (\S) \[`).FindSubmatch(txt)
	if row == nil || string(row[1]) != mark2 {
		t.Errorf("summary.txt lacks a w8a8 speedup marked %s (%+v, A/A %+v):\n%s", mark2, speedup, aa, txt)
	}
	t.Logf("%d rounds; w8a8 %.3fx [%.3f, %.3f], A/A %.3fx [%.3f, %.3f]\n%s", rounds, speedup.Ratio, speedup.Low, speedup.High, aa.Ratio, aa.Low, aa.High, txt)
}
