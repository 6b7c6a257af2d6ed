//go:build !nopython

package run

import (
	"reflect"
	"testing"

	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload"
)

func TestByPrompt(t *testing.T) {
	c := func(tokens int) []metrics.Completion { return []metrics.Completion{{OutputTokens: tokens}} }
	req := func(prompt int, tokens ...int) metrics.Request {
		r := metrics.Request{PromptTokens: prompt}
		for _, n := range tokens {
			r.Completions = append(r.Completions, c(n)...)
		}
		return r
	}
	got := byPrompt([]metrics.Request{req(8, 1), req(8, 2), req(9, 3), req(9, 4)}, 2)
	want := []metrics.Request{req(8, 1, 2), req(9, 3, 4)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("byPrompt = %+v, want %+v", got, want)
	}
}

func TestEngineKwargs(t *testing.T) {
	spec := workload.Default()
	if kw := engineKwargs(spec); kw["disable_log_stats"] != false || kw["enable_prefix_caching"] != nil {
		t.Errorf("sync: %v", kw)
	}
	spec.Rollout.Mode = workload.Async
	if kw := engineKwargs(spec); kw["enable_prefix_caching"] != true {
		t.Errorf("async without prefix caching: %v", kw)
	}
	spec.Rollout.Preset = workload.PresetVerlAsync
	kw := engineKwargs(spec)
	if kw["max_num_batched_tokens"] != 8192 || kw["enable_chunked_prefill"] != true {
		t.Errorf("verl-async: %v", kw)
	}
	// A model's own engine arguments win over the rollout's defaults.
	spec.Engine.Args = map[string]any{"enable_prefix_caching": false, "disable_log_stats": true}
	if kw := engineKwargs(spec); kw["enable_prefix_caching"] != false || kw["disable_log_stats"] != true {
		t.Errorf("config arguments overridden: %v", kw)
	}
}
