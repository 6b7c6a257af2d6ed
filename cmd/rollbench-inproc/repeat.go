package main

import (
	"fmt"
	"io"

	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload/dataset"
)

// printDataset says where a run's prompts came from and how they fit.
func printDataset(w io.Writer, d *dataset.Info) {
	if d == nil {
		return
	}
	filter := "not filtered"
	if d.FilterOverlong {
		filter = "overlong filtered"
	}
	fmt.Fprintf(w, "  dataset     %s: %d rows read, %d kept (%s), %d drawn, %d truncated (truncation %s); prompts %d..%d tokens, mean %.1f\n",
		d.Path, d.RowsRead, d.RowsKept, filter, d.Drawn, d.Truncated, d.Truncation, d.PromptTokens.Min, d.PromptTokens.Max, d.PromptTokens.Mean)
}

// printConfidence shows each headline figure's mean and 95% interval over
// the repetitions.
func printConfidence(w io.Writer, c *result.Confidence) {
	if c == nil {
		return
	}
	line := func(name, unit string, e metrics.Estimate) {
		fmt.Fprintf(w, "  %-11s %.3f %s ± %.1f%% (95%% CI %.3f..%.3f, std %.3f, CV %.1f%%, n=%d)\n",
			name, e.Mean, unit, 100*e.HalfWidth(), e.Low, e.High, e.Std, 100*e.CV, e.N)
	}
	line("generate", "s", c.GenerateS)
	line("output", "tok/s", c.OutputTokensPerSecond)
	line("total", "tok/s", c.TotalTokensPerSecond)
	if c.MakespanS != nil {
		line("makespan", "s", *c.MakespanS)
	}
}
