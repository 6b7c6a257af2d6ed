package server

import (
	"reflect"
	"strings"
	"testing"
)

const exposition = `# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{engine="0",model_name="/m"} 96.0
vllm:generation_tokens_total{engine="1",model_name="/m"} 4.0
vllm:prompt_tokens_total{engine="0",model_name="a \"quoted\" } name"} 192.0 1700000000000
vllm:num_requests_running 0
python_gc_objects_collected_total{generation="0"} 123.0
`

func TestParseMetrics(t *testing.T) {
	got, err := ParseMetrics(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"vllm:generation_tokens_total": 100, "vllm:prompt_tokens_total": 192, "vllm:num_requests_running": 0}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for _, bad := range []string{`vllm:x{a="1" 3`, `vllm:x{a="1"}`, `vllm:x{a="1"} abc`} {
		if _, err := ParseMetrics(strings.NewReader(bad)); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

// TestParseMetricsHistogram: a histogram's samples keep the names the text
// shows, each summed over its label sets, as the three counters are.
func TestParseMetricsHistogram(t *testing.T) {
	const text = `# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_sum{engine="0"} 12.5
vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.3"} 1.0
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf"} 10.0
vllm:e2e_request_latency_seconds_count{engine="0"} 10.0
# TYPE vllm:request_success_total counter
vllm:request_success_total{finished_reason="stop"} 5.0
vllm:request_success_total{finished_reason="length"} 7.0
`
	got, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"vllm:e2e_request_latency_seconds_sum": 12.5, "vllm:e2e_request_latency_seconds_bucket": 11,
		"vllm:e2e_request_latency_seconds_count": 10, "vllm:request_success_total": 12}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add(exposition)
	f.Add(`vllm:a{b="\\"} 1`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseMetrics(strings.NewReader(s))
	})
}
