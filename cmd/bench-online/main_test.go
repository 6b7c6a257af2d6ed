package main

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/rollbench/rollbench/cmd/internal/sidebyside"
	"github.com/rollbench/rollbench/internal/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestReport renders fixed pairs as a fixed --runs 3 takes them (one
// look, 95% intervals): at concurrency 128 the goal of 10x is met on the
// whole interval; at 1024 the interval reaches below it.
func TestReport(t *testing.T) {
	o := options{Common: sidebyside.Common{Runs: sidebyside.Runs{N: 3}}, requests: 16384, outputLen: 16, concurrencies: []int{128, 1024},
		latencyRequests: 2048, latencyConcurrency: 128, latencyPace: 50, latencyRate: 350}
	env := map[string]string{"date": "2025-01-02T03:04:05Z", "cpu": "Test CPU", "cores": "2", "go": "go1.test", "vllm": "0.0.test"}
	rates := map[int][2][]float64{
		128:  {{14100, 13900, 14050}, {1000, 1010, 990}},
		1024: {{16000, 9000, 12500}, {1000, 1100, 900}},
	}
	rule, err := o.Rule()
	if err != nil {
		t.Fatal(err)
	}
	var samples []sample
	stop, err := rule.Pairs(func(i int) (float64, error) {
		for _, conc := range o.concurrencies {
			for k, client := range sidebyside.Order(i, goClient, vllmClient) {
				rb, vl := rates[conc][0][i], rates[conc][1][i]
				s := sample{Phase: "throughput", Client: client, Concurrency: conc, Pair: i, Order: k + 1, Requests: 16384, Completed: 16384,
					DurationS: 16384 / vl, RequestsPerSecond: vl, OutputTokensPerS: 16 * vl, TTFTp50ms: 20 + float64(i), TTFTp99ms: 90 + float64(i)}
				if client == goClient {
					s.DurationS, s.RequestsPerSecond, s.OutputTokensPerS, s.TTFTp50ms, s.TTFTp99ms = 16384/rb, rb, 16*rb, 2+float64(i), 9+float64(i)
					s.OverheadP50ms, s.OverheadP99ms, s.SendLagP50ms, s.SendLagP99ms = 0.5, 4+float64(i), 1, 5
				}
				samples = append(samples, s)
			}
		}
		for k, client := range sidebyside.Order(i, goClient, vllmClient) {
			s := sample{Phase: "latency", Client: client, Concurrency: 128, Pair: i, Order: k + 1, Requests: 2048, Completed: 2048, DurationS: 6,
				RequestsPerSecond: 330, OutputTokensPerS: 5280, TTFTp50ms: 1.5, TTFTp99ms: 6 + float64(i)}
			if client == goClient {
				s.RequestsPerSecond, s.OutputTokensPerS, s.TTFTp50ms, s.TTFTp99ms = 340, 5440, 0.3, 0.8+0.01*float64(i)
				s.OverheadP50ms, s.OverheadP99ms, s.SendLagP50ms, s.SendLagP99ms = 0.05, 0.2, 0.1, 0.4+0.1*float64(i)
			}
			samples = append(samples, s)
		}
		ratios, err := compare(o, samples, rule.Looks())
		return sidebyside.Widest(ratios[128], ratios[1024]), err
	})
	if err != nil {
		t.Fatal(err)
	}
	if stop.Passes != 3 {
		t.Errorf("stopped after %d pairs, want 3", stop.Passes)
	}
	data, md, err := report(o, env, samples, stop)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "report.json"), data, *update)
	golden.Check(t, filepath.Join("testdata", "report.md"), md, *update)
	if _, _, err := report(o, env, samples[:1], stop); err == nil {
		t.Error("runs of one client: no error")
	}
}
