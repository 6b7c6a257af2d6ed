//go:build e2e

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload"
)

// rolloutResult is the part of a result this test reads.
type rolloutResult struct {
	Status       string
	RolloutMode  string                 `json:"rollout_mode"`
	Timeline     metrics.Timeline       `json:"timeline"`
	EngineKwargs map[string]any         `json:"engine_kwargs"`
	Counters     metrics.EngineCounters `json:"engine_counters"`
	Tokens       metrics.Tokens         `json:"tokens"`
	Warnings     []string
}

// TestRolloutShapes runs one workload with long-tailed response lengths in
// sync and async mode (verl's preset), and the same batch with one fixed
// length, in three engine loads: 8 prompts x n=4, lengths lognormal with
// median 8 and the seed chosen so that the longest sample (110 tokens) runs
// far beyond the 29th (26), while the fixed-length batch finishes together.
func TestRolloutShapes(t *testing.T) {
	const dist, seed = "lognormal:8,1.5,128", 3
	base := []string{"--num-prompts", "8", "-n", "4", "--input-len", "32", "--seed", "3",
		"--enforce-eager", "--kv-cache-memory", "1GiB"}
	runs := []struct {
		name string
		args []string
	}{
		{"sync-lognormal", []string{"--output-len-dist", dist}},
		{"async-lognormal", []string{"--output-len-dist", dist, "--preset", "verl-async"}},
		{"sync-fixed", []string{"--output-len", "32"}},
	}
	dir := t.TempDir()
	results := map[string]rolloutResult{}
	for _, r := range runs {
		mark := marker(t)
		out := runBinary(t, []string{mark}, append(append([]string{"--output-dir", dir, "--log-dir", dir, "--name", r.name}, base...), r.args...)...)
		if out.code != 0 {
			t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", r.name, out.code, out.stdout, lastLines(out.stderr, 40))
		}
		assertNoSurvivors(t, mark)
		if !strings.Contains(out.stdout, "tail share") || !strings.Contains(out.stdout, "90% done at") {
			t.Errorf("%s: summary lacks the timeline:\n%s", r.name, out.stdout)
		}
		data, err := os.ReadFile(filepath.Join(dir, r.name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var res rolloutResult
		if err := json.Unmarshal(data, &res); err != nil {
			t.Fatal(err)
		}
		checkTimeline(t, r.name, res, 32)
		results[r.name] = res
		counters, _ := json.Marshal(res.Counters)
		t.Logf("%s: makespan %.3f s, done p50 %.3f p90 %.3f p99 %.3f, tail share %.3f, tail %.1f tok/s vs %.1f before; counters %s",
			r.name, res.Timeline.MakespanS, res.Timeline.DoneS.P50, res.Timeline.DoneS.P90, res.Timeline.DoneS.P99,
			res.Timeline.TailShare, res.Timeline.TailOutputTokS, res.Timeline.PreTailOutputTokS, counters)
	}

	// Both modes ran the same workload: every sample the length drawn for
	// it, in the same order.
	d, err := workload.ParseLengthDist(dist)
	if err != nil {
		t.Fatal(err)
	}
	want := d.Sample(seed, 32)
	for _, name := range []string{"sync-lognormal", "async-lognormal"} {
		var got []int
		for _, s := range results[name].Timeline.Samples {
			got = append(got, s.OutputTokens)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: output lengths %v, want the drawn %v", name, got, want)
		}
	}

	sync, async, fixed := results["sync-lognormal"], results["async-lognormal"], results["sync-fixed"]
	for name, want := range map[string]string{"sync-lognormal": "sync", "async-lognormal": "async", "sync-fixed": "sync"} {
		if got := results[name].RolloutMode; got != want {
			t.Errorf("%s: rollout_mode %q, want %q", name, got, want)
		}
	}
	for k, v := range map[string]any{"max_num_seqs": 256.0, "max_num_batched_tokens": 8192.0, "enable_chunked_prefill": true, "enable_prefix_caching": true} {
		if async.EngineKwargs[k] != v {
			t.Errorf("verl-async preset: engine_kwargs.%s = %v, want %v", k, async.EngineKwargs[k], v)
		}
	}
	// Gauges can be read between the steps Go drives, not during one
	// LLM.generate, and the result says so.
	if c := async.Counters; c.PrefixCacheHitRate == nil || c.RunningPeak == nil || *c.RunningPeak < 1 || c.KVCacheUsagePeak == nil || *c.KVCacheUsagePeak <= 0 || c.GaugeSamples < 1 {
		t.Errorf("async: gauge peaks missing: %+v", c)
	}
	if c := sync.Counters; c.RunningPeak != nil || !slices.ContainsFunc(c.Unavailable, func(s string) bool { return strings.HasPrefix(s, "running_peak: ") }) {
		t.Errorf("sync: running peak should be unavailable and say why: %+v", c)
	}
	if !strings.Contains(fixed.Timeline.FinishTimes, "per prompt") || !strings.Contains(sync.Timeline.FinishTimes, "per sample") {
		t.Errorf("finish time sources: fixed %q, sync lognormal %q", fixed.Timeline.FinishTimes, sync.Timeline.FinishTimes)
	}

	// The long tail shows: most of the lognormal step waits for a few
	// samples, while the fixed-length batch finishes together.
	for _, name := range []string{"sync-lognormal", "async-lognormal"} {
		// By steps the tail is (110 - 26) / 110 of the lognormal step; a
		// step of 32 sequences costs more than one of a few on a CPU, so
		// measured shares run 0.45 to 0.9, the fixed one's under 0.01.
		if ln, fx := results[name].Timeline.TailShare, fixed.Timeline.TailShare; !(ln > 0.25 && fx < 0.1 && ln > fx+0.2) {
			t.Errorf("tail share: %s %.3f, fixed %.3f; want the lognormal's above 0.25 and clearly above the fixed one's (below 0.1)", name, ln, fx)
		}
		if tl := results[name].Timeline; !(tl.TailOutputTokS < tl.PreTailOutputTokS) {
			t.Errorf("%s: tail throughput %.1f tok/s not below the %.1f before it", name, tl.TailOutputTokS, tl.PreTailOutputTokS)
		}
	}
}

// checkTimeline checks what every timeline must satisfy.
func checkTimeline(t *testing.T, name string, res rolloutResult, samples int) {
	t.Helper()
	tl := res.Timeline
	if res.Status != "ok" || len(res.Warnings) != 0 {
		t.Errorf("%s: status %s, warnings %q", name, res.Status, res.Warnings)
	}
	if res.Tokens.Prompts != 8 || res.Tokens.Sequences != samples {
		t.Errorf("%s: counted %d prompts and %d sequences, want 8 and %d", name, res.Tokens.Prompts, res.Tokens.Sequences, samples)
	}
	if len(tl.Samples) != samples {
		t.Fatalf("%s: %d samples in the timeline, want %d", name, len(tl.Samples), samples)
	}
	d := tl.DoneS
	if !(tl.MakespanS > 0 && 0 < d.P50 && d.P50 <= d.P90 && d.P90 <= d.P99 && d.P99 <= tl.MakespanS) {
		t.Errorf("%s: makespan %v and done times %+v out of order", name, tl.MakespanS, d)
	}
	if first, last := tl.Running[0], tl.Running[len(tl.Running)-1]; first.Running != samples || last.Running != 0 || last.TS != d.P99 {
		t.Errorf("%s: running from %+v to %+v", name, first, last)
	}
	total := 0
	for _, s := range tl.Samples {
		total += s.OutputTokens
		if s.FinishReason != "length" {
			t.Errorf("%s: finish reason %q with ignore_eos", name, s.FinishReason)
		}
	}
	if total != res.Tokens.OutputTokens {
		t.Errorf("%s: samples hold %d output tokens, the counts %d", name, total, res.Tokens.OutputTokens)
	}
	if res.Counters.Preemptions == nil || *res.Counters.Preemptions != 0 {
		t.Errorf("%s: counters %+v (unavailable %q)", name, res.Counters, res.Counters.Unavailable)
	}
}
