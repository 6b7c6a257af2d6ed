package main

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/rollbench/rollbench/cmd/internal/sidebyside"
	"github.com/rollbench/rollbench/internal/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestReport renders fixed runs: three of each tool, rollbench's no
// different from vllm's at the 5% level (~), yet with the whole interval
// above the goal of 0.97.
func TestReport(t *testing.T) {
	o := options{Common: sidebyside.Common{Runs: 3}, numPrompts: 32, n: 8, inputLen: 480, outputLen: 256, kvCache: 1 << 30}
	env := sidebyside.Environment{Date: "2025-01-02T03:04:05Z", CPU: "Test CPU", Cores: 2, MemoryGiB: 8, Go: "go1.test",
		Rollbench: "v0-test", VLLM: "0.0.test", Torch: "2.test", Python: "3.test"}
	var samples []sample
	for i, tps := range [][2]float64{{1010, 1000}, {985, 1002}, {1003, 990}} {
		samples = append(samples,
			sample{Tool: "rollbench-inproc", Run: i, OutputTokensPerSecond: tps[0], ElapsedSeconds: 65536 / tps[0], WallSeconds: 80 + float64(i), BuildRequestsSeconds: 0.0021 + 0.0001*float64(i)},
			sample{Tool: "vllm bench throughput", Run: i, OutputTokensPerSecond: tps[1], ElapsedSeconds: 65536 / tps[1], WallSeconds: 90 - float64(i)})
	}
	data, md, err := report(o, env, samples)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "report.json"), data, *update)
	golden.Check(t, filepath.Join("testdata", "report.md"), md, *update)
	if _, _, err := report(o, env, samples[:3]); err == nil {
		t.Error("unequal runs: no error")
	}
}
