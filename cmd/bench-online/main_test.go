package main

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/rollbench/rollbench/cmd/internal/sidebyside"
	"github.com/rollbench/rollbench/internal/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestReport renders fixed runs: at concurrency 128 the goal of 10x is
// met on the whole interval; at 1024 the interval reaches below it.
func TestReport(t *testing.T) {
	o := options{Common: sidebyside.Common{Runs: 3}, requests: 16384, outputLen: 16, concurrencies: []int{128, 1024},
		latencyRequests: 2048, latencyConcurrency: 128, latencyPace: 50, latencyRate: 350}
	env := map[string]string{"date": "2025-01-02T03:04:05Z", "cpu": "Test CPU", "cores": "2", "go": "go1.test", "vllm": "0.0.test"}
	rates := map[int][2][]float64{
		128:  {{14100, 13900, 14050}, {1000, 1010, 990}},
		1024: {{16000, 9000, 12500}, {1000, 1100, 900}},
	}
	var samples []sample
	for _, conc := range o.concurrencies {
		for i := range 3 {
			rb, vl := rates[conc][0][i], rates[conc][1][i]
			samples = append(samples,
				sample{Phase: "throughput", Client: "rollbench", Concurrency: conc, Run: i, Requests: 16384, Completed: 16384,
					DurationS: 16384 / rb, RequestsPerSecond: rb, OutputTokensPerS: 16 * rb, TTFTp50ms: 2 + float64(i), TTFTp99ms: 9 + float64(i),
					OverheadP50ms: 0.5, OverheadP99ms: 4 + float64(i), SendLagP50ms: 1, SendLagP99ms: 5},
				sample{Phase: "throughput", Client: "vllm bench serve", Concurrency: conc, Run: i, Requests: 16384, Completed: 16384,
					DurationS: 16384 / vl, RequestsPerSecond: vl, OutputTokensPerS: 16 * vl, TTFTp50ms: 20 + float64(i), TTFTp99ms: 90 + float64(i)})
		}
	}
	for i := range 3 {
		samples = append(samples,
			sample{Phase: "latency", Client: "rollbench", Concurrency: 128, Run: i, Requests: 2048, Completed: 2048, DurationS: 6,
				RequestsPerSecond: 340, OutputTokensPerS: 5440, TTFTp50ms: 0.3, TTFTp99ms: 0.8 + 0.01*float64(i),
				OverheadP50ms: 0.05, OverheadP99ms: 0.2, SendLagP50ms: 0.1, SendLagP99ms: 0.4 + 0.1*float64(i)},
			sample{Phase: "latency", Client: "vllm bench serve", Concurrency: 128, Run: i, Requests: 2048, Completed: 2048, DurationS: 6,
				RequestsPerSecond: 330, OutputTokensPerS: 5280, TTFTp50ms: 1.5, TTFTp99ms: 6 + float64(i)})
	}
	data, md, err := report(o, env, samples)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "report.json"), data, *update)
	golden.Check(t, filepath.Join("testdata", "report.md"), md, *update)
	if _, _, err := report(o, env, samples[:1]); err == nil {
		t.Error("runs of one client: no error")
	}
}
