package server

import (
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

func FuzzParseMetrics(f *testing.F) {
	f.Add(exposition)
	f.Add(`vllm:a{b="\\"} 1`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseMetrics(strings.NewReader(s))
	})
}
