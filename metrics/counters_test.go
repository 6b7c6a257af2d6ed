package metrics

import (
	"reflect"
	"testing"
)

func ptr(v float64) *float64 { return &v }

func TestNewCounters(t *testing.T) {
	before := map[string]float64{VLLMPreemptions: 2, VLLMPrefixQueries: 100, VLLMPrefixHits: 10, VLLMRunning: 0, VLLMWaiting: 0, VLLMKVUsage: 0}
	after := map[string]float64{VLLMPreemptions: 5, VLLMPrefixQueries: 500, VLLMPrefixHits: 310, VLLMRunning: 0, VLLMWaiting: 0, VLLMKVUsage: 0}
	gauges := &EngineGauges{Samples: 3, ReadS: 0.01, RunningPeak: 16, WaitingPeak: 4, KVCacheUsagePct: 12.5}

	got := NewEngineCounters(before, after, gauges)
	want := EngineCounters{
		Preemptions: ptr(3), PrefixCacheQueries: ptr(400), PrefixCacheHits: ptr(300), PrefixCacheHitRate: ptr(0.75),
		KVCacheUsagePeak: ptr(12.5), RunningPeak: ptr(16), WaitingPeak: ptr(4), GaugeSamples: 3, GaugeReadS: 0.01, Unavailable: []string{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with gauges:\n%+v\nwant\n%+v", got, want)
	}

	got = NewEngineCounters(before, after, nil)
	if got.RunningPeak != nil || got.KVCacheUsagePeak != nil || len(got.Unavailable) != 3 {
		t.Errorf("without gauges the peaks must be unavailable: %+v", got)
	}

	delete(after, VLLMPreemptions)
	after[VLLMPrefixQueries] = before[VLLMPrefixQueries]
	got = NewEngineCounters(before, after, gauges)
	wantMissing := []string{
		"preemptions: this vLLM build does not export vllm:num_preemptions",
		"prefix_cache_hit_rate: no prefix cache queries (prefix caching off?)",
	}
	if got.Preemptions != nil || got.PrefixCacheHitRate != nil || !reflect.DeepEqual(got.Unavailable, wantMissing) {
		t.Errorf("missing counter and no queries: %+v %q", got, got.Unavailable)
	}
}
