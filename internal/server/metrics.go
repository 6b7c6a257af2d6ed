package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Counters reads the server's Prometheus /metrics and returns every vLLM
// sample summed over its label sets (one engine, one model: the labels only
// name them).
func (s *Server) Counters(ctx context.Context) (map[string]float64, error) {
	return scrape(ctx, s.URL)
}

func scrape(ctx context.Context, base string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read server metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read server metrics: %s", resp.Status)
	}
	return ParseMetrics(resp.Body)
}

// ParseMetrics reads Prometheus text exposition and returns its "vllm:"
// samples, each summed over its label sets, under the names the text shows
// them by: a counter or gauge by its own, a histogram's as NAME_bucket,
// NAME_sum and NAME_count, a summary's quantiles by its name.
func ParseMetrics(r io.Reader) (map[string]float64, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	out := map[string]float64{}
	for name, f := range families {
		if !strings.HasPrefix(name, "vllm:") {
			continue // other exporters
		}
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[name] += m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[name] += m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					out[name+"_bucket"] += float64(b.GetCumulativeCount())
				}
				out[name+"_sum"] += h.GetSampleSum()
				out[name+"_count"] += float64(h.GetSampleCount())
			case dto.MetricType_SUMMARY:
				sm := m.GetSummary()
				for _, q := range sm.GetQuantile() {
					out[name] += q.GetValue()
				}
				out[name+"_sum"] += sm.GetSampleSum()
				out[name+"_count"] += float64(sm.GetSampleCount())
			default:
				out[name] += m.GetUntyped().GetValue()
			}
		}
	}
	return out, nil
}
