package engine

// Counters are what the engine's own metrics say about one measured pass:
// counters as the difference of get_metrics() after and before it, peaks of
// gauges sampled during it. A figure the pass could not measure is null and
// named, with the reason, in Unavailable.
type Counters struct {
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

// NewCounters compares two get_metrics snapshots; gauges are the samples
// taken between engine steps, nil when the pass ran inside one call that
// nothing could interrupt (LLM.generate).
func NewCounters(before, after map[string]float64, gauges *Gauges) Counters {
	c := Counters{Unavailable: []string{}}
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
	c.Preemptions = delta(MetricPreemptions, "preemptions")
	c.PrefixCacheQueries = delta(MetricPrefixQuery, "prefix_cache_queries")
	c.PrefixCacheHits = delta(MetricPrefixHits, "prefix_cache_hits")
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
		{MetricKVUsage, "kv_cache_usage_peak_pct", gauges.KVCacheUsagePct, &c.KVCacheUsagePeak},
		{MetricRunning, "running_peak", gauges.RunningPeak, &c.RunningPeak},
		{MetricWaiting, "waiting_peak", gauges.WaitingPeak, &c.WaitingPeak},
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
