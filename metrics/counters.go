package metrics

// EngineGauges are the engine's instantaneous figures, as get_metrics reports
// them, sampled between engine steps.
type EngineGauges struct {
	Samples int `json:"samples"`
	// ReadS is the time spent reading them, inside the makespan.
	ReadS           float64 `json:"read_s"`
	RunningPeak     float64 `json:"running_peak"`
	WaitingPeak     float64 `json:"waiting_peak"`
	KVCacheUsagePct float64 `json:"kv_cache_usage_peak_pct"`
}

// The get_metrics names the counters and gauges come from.
const (
	VLLMRunning       = "vllm:num_requests_running"
	VLLMWaiting       = "vllm:num_requests_waiting"
	VLLMKVUsage       = "vllm:kv_cache_usage_perc"
	VLLMPreemptions   = "vllm:num_preemptions"
	VLLMPrefixHits    = "vllm:prefix_cache_hits"
	VLLMPrefixQueries = "vllm:prefix_cache_queries"
)

// EngineCounters are what the engine's own metrics say about one measured pass:
// counters as the difference of get_metrics() after and before it, peaks of
// gauges sampled during it. A figure the pass could not measure is null and
// named, with the reason, in Unavailable.
type EngineCounters struct {
	Preemptions        *float64 `json:"preemptions"`
	PrefixCacheQueries *float64 `json:"prefix_cache_queries"`
	PrefixCacheHits    *float64 `json:"prefix_cache_hits"`
	// PrefixCacheHitRate is hits / queries, in tokens.
	PrefixCacheHitRate *float64 `json:"prefix_cache_hit_rate"`
	KVCacheUsagePeak   *float64 `json:"kv_cache_usage_peak_pct"`
	RunningPeak        *float64 `json:"running_peak"`
	WaitingPeak        *float64 `json:"waiting_peak"`
	// GaugeSamples is how many times the gauges were read during the pass,
	// and GaugeReadS the time that took, which the makespan includes.
	GaugeSamples int      `json:"gauge_samples"`
	GaugeReadS   float64  `json:"gauge_read_s"`
	Unavailable  []string `json:"unavailable"`
}

// NewEngineCounters compares two get_metrics snapshots; gauges are the samples
// taken between engine steps, nil when the pass ran inside one call that
// nothing could interrupt (LLM.generate).
func NewEngineCounters(before, after map[string]float64, gauges *EngineGauges) EngineCounters {
	c := EngineCounters{Unavailable: []string{}}
	delta := func(name, field string) *float64 {
		a, okA := after[name]
		b, okB := before[name]
		if !okA || !okB {
			c.Unavailable = append(c.Unavailable, field+": this vLLM build does not export "+name)
			return nil
		}
		d := a - b
		return &d
	}
	c.Preemptions = delta(VLLMPreemptions, "preemptions")
	c.PrefixCacheQueries = delta(VLLMPrefixQueries, "prefix_cache_queries")
	c.PrefixCacheHits = delta(VLLMPrefixHits, "prefix_cache_hits")
	switch {
	case c.PrefixCacheQueries == nil || c.PrefixCacheHits == nil:
		c.Unavailable = append(c.Unavailable, "prefix_cache_hit_rate: needs both prefix cache counters")
	case *c.PrefixCacheQueries == 0:
		c.Unavailable = append(c.Unavailable, "prefix_cache_hit_rate: no prefix cache queries (prefix caching off?)")
	default:
		rate := *c.PrefixCacheHits / *c.PrefixCacheQueries
		c.PrefixCacheHitRate = &rate
	}
	if gauges == nil || gauges.Samples == 0 {
		const why = ": gauges are read between engine steps, and this pass ran as one LLM.generate call (use --rollout-mode async)"
		c.Unavailable = append(c.Unavailable, "kv_cache_usage_peak_pct"+why, "running_peak"+why, "waiting_peak"+why)
		return c
	}
	c.GaugeSamples, c.GaugeReadS = gauges.Samples, gauges.ReadS
	for _, g := range []struct {
		name  string
		field string
		value float64
		dst   **float64
	}{
		{VLLMKVUsage, "kv_cache_usage_peak_pct", gauges.KVCacheUsagePct, &c.KVCacheUsagePeak},
		{VLLMRunning, "running_peak", gauges.RunningPeak, &c.RunningPeak},
		{VLLMWaiting, "waiting_peak", gauges.WaitingPeak, &c.WaitingPeak},
	} {
		if _, ok := after[g.name]; !ok {
			c.Unavailable = append(c.Unavailable, g.field+": this vLLM build does not export "+g.name)
			continue
		}
		v := g.value
		*g.dst = &v
	}
	return c
}
