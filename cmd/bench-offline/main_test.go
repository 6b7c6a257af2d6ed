package main

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/rollbench/rollbench/cmd/internal/sidebyside"
	"github.com/rollbench/rollbench/internal/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestReport renders fixed pairs as --runs auto takes them: the interval
// within ±3% only after 5 pairs (looks at 3, 5, 8), rollbench's ratio not
// different from 1 at the 5% level (~), yet the whole interval above the
// goal of 0.97.
func TestReport(t *testing.T) {
	o := options{Common: sidebyside.Common{TargetCI: 0.03, MaxRuns: 8}, numPrompts: 32, n: 8, inputLen: 480, outputLen: 256, kvCache: 1 << 30}
	env := sidebyside.Environment{Date: "2025-01-02T03:04:05Z", CPU: "Test CPU", Cores: 2, MemoryGiB: 8, Go: "go1.test",
		Rollbench: "v0-test", VLLM: "0.0.test", Torch: "2.test", Python: "3.test"}
	tps := [][2]float64{{1010, 1000}, {985, 1000}, {1003, 990}, {1001, 1001}, {1005, 1000}, {990, 1000}, {1000, 1000}, {1000, 1000}}
	rule, err := o.Rule()
	if err != nil {
		t.Fatal(err)
	}
	var samples []sample
	stop, err := rule.Pairs(func(i int) (float64, error) {
		for k, tool := range sidebyside.Order(i, rollbenchTool, vllmTool) {
			s := sample{Tool: tool, Pair: i, Order: k + 1, OutputTokensPerSecond: tps[i][1], ElapsedSeconds: 65536 / tps[i][1], WallSeconds: 90 - float64(i)}
			if tool == rollbenchTool {
				s.OutputTokensPerSecond, s.ElapsedSeconds, s.WallSeconds = tps[i][0], 65536/tps[i][0], 80+float64(i)
				s.BuildRequestsSeconds = 0.0021 + 0.0001*float64(i)
			}
			samples = append(samples, s)
		}
		c, err := compare(samples, rule.Looks())
		return c.HalfWidth(), err
	})
	if err != nil {
		t.Fatal(err)
	}
	if stop.Passes != 5 || !stop.Reached {
		t.Errorf("stopped after %d pairs, target reached %v; want 5, true", stop.Passes, stop.Reached)
	}
	data, md, err := report(o, env, samples, stop)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "report.json"), data, *update)
	golden.Check(t, filepath.Join("testdata", "report.md"), md, *update)
	if _, _, err := report(o, env, samples[:3], stop); err == nil {
		t.Error("unequal runs: no error")
	}
}
