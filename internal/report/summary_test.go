package report

import (
	"reflect"
	"testing"
)

func f(v float64) *float64 { return &v }

func TestSpeedup(t *testing.T) {
	offline := func(quant string, output, total float64) Row {
		return Row{Model: "m", Quant: quant, Status: StatusOK, Format: FormatRollbench,
			OutputTokensPerSecond: f(output), TotalTokensPerSecond: f(total)}
	}
	totalOnly := func(quant string, total float64) Row {
		return Row{Model: "m", Quant: quant, Status: StatusOK, Format: FormatVLLMThroughput, TotalTokensPerSecond: f(total)}
	}
	base := offline("bf16", 100, 300)
	for _, tc := range []struct {
		name      string
		row       Row
		baselines []Row
		cell      string
		csv       string // direction column
		ratio     float64
		metric    string
	}{
		{"faster", offline("w8a8", 125, 310), []Row{base}, "1.25x ^", "faster", 1.25, MetricOutput},
		{"slower", offline("w8a16", 91, 290), []Row{base}, "0.91x v", "slower", 0.91, MetricOutput},
		{"equal", offline("w8a8", 100, 300), []Row{base}, "1.00x", "same", 1, MetricOutput},
		{"equal to 2 decimals above", offline("w8a8", 100.4, 300), []Row{base}, "1.00x", "same", 1.004, MetricOutput},
		{"equal to 2 decimals below", offline("w8a8", 99.6, 300), []Row{base}, "1.00x", "same", 0.996, MetricOutput},
		{"just faster", offline("w8a8", 100.6, 300), []Row{base}, "1.01x ^", "faster", 1.006, MetricOutput},
		{"total when the row lacks output", totalOnly("w8a8", 450), []Row{base}, "1.50x ^ ¹", "faster", 1.5, MetricTotal},
		{"total when the baseline lacks output", offline("w8a8", 50, 150), []Row{totalOnly("bf16", 600)}, "0.25x v ¹", "slower", 0.25, MetricTotal},
		{"baseline", base, []Row{base}, "(baseline)", "baseline", 0, ""},
		{"baseline without others", base, nil, "(baseline)", "baseline", 0, ""},
		{"no baseline", offline("w8a8", 125, 310), nil, "N/A (no bf16 baseline)", "", 0, ""},
		{"two baselines", offline("w8a8", 125, 310), []Row{base, base}, "N/A (2 bf16 results)", "", 0, ""},
		{"zero baseline", offline("w8a8", 125, 310), []Row{offline("bf16", 0, 0)}, "N/A (bf16 throughput is 0)", "", 0, ""},
		{"nothing in common", offline("w8a8", 125, 310), []Row{{Model: "m", Quant: "bf16", Status: StatusOK}},
			"N/A (no throughput in common with bf16)", "", 0, ""},
		{"failed row", Row{Model: "m", Quant: "w8a8", Status: StatusFailed}, []Row{base}, "N/A", "", 0, ""},
		{"missing row", Row{Model: "m", Quant: "w8a8", Status: StatusMissing}, []Row{base}, "N/A", "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, _, _ := compare(tc.row, tc.baselines)
			checkSpeedup(t, sp, tc.cell, tc.csv, tc.ratio, tc.metric)
		})
	}
}

func TestE2ELSpeedup(t *testing.T) {
	serve := func(quant string, meanE2EL *float64) Row {
		return Row{Model: "m", Quant: quant, Status: StatusOK, Format: FormatRollbenchOnline,
			OutputTokensPerSecond: f(100), MeanE2ELms: meanE2EL, P99E2ELms: f(5000)}
	}
	base := serve("bf16", f(1000))
	for _, tc := range []struct {
		name      string
		row       Row
		baselines []Row
		cell, csv string
		ratio     float64 // 0: none
	}{
		// Lower latency is better: bf16 1000 ms / w8a8 800 ms = 1.25.
		{"faster", serve("w8a8", f(800)), []Row{base}, "1.25x ^", "faster", 1.25},
		{"slower", serve("w8a8", f(1250)), []Row{base}, "0.80x v", "slower", 0.8},
		{"equal to 2 decimals", serve("w8a16", f(1004)), []Row{base}, "1.00x", "same", 1000.0 / 1004},
		{"baseline", base, []Row{base}, "(baseline)", "baseline", 0},
		{"baseline without E2EL", serve("bf16", nil), nil, "N/A", "", 0},
		{"row without E2EL", serve("w8a8", nil), []Row{base}, "N/A", "", 0},
		{"bf16 without E2EL", serve("w8a8", f(800)), []Row{serve("bf16", nil)}, "N/A (bf16 has no E2EL)", "", 0},
		{"no baseline (bf16 failed)", serve("w8a8", f(800)), nil, "N/A (no bf16 baseline)", "", 0},
		{"two baselines", serve("w8a8", f(800)), []Row{base, base}, "N/A (2 bf16 results)", "", 0},
		{"zero latency", serve("w8a8", f(0)), []Row{base}, "N/A (mean E2EL of 0)", "", 0},
		{"zero bf16 latency", serve("w8a8", f(800)), []Row{serve("bf16", f(0))}, "N/A (mean E2EL of 0)", "", 0},
		{"failed row", Row{Model: "m", Quant: "w8a8", Status: StatusFailed, MeanE2ELms: f(800)}, []Row{base}, "N/A", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, sp, _ := compare(tc.row, tc.baselines)
			metric := MetricMeanE2EL
			if tc.ratio == 0 {
				metric = ""
			}
			checkSpeedup(t, sp, tc.cell, tc.csv, tc.ratio, metric)
		})
	}
}

// checkSpeedup compares a speedup with its cell, CSV direction and ratio on
// metric (no ratio when metric is "").
func checkSpeedup(t *testing.T, sp Speedup, cell, csv string, ratio float64, metric string) {
	t.Helper()
	if got := speedupCell(sp); got != cell {
		t.Errorf("cell = %q, want %q", got, cell)
	}
	if got := direction(sp); got != csv {
		t.Errorf("direction = %q, want %q", got, csv)
	}
	if metric == "" {
		if sp.Ratio != nil {
			t.Errorf("ratio = %v, want none", *sp.Ratio)
		}
		return
	}
	if sp.Ratio == nil || *sp.Ratio < ratio-1e-12 || *sp.Ratio > ratio+1e-12 || sp.Metric != metric {
		t.Errorf("speedup = %+v, want %v on %s", sp, ratio, metric)
	}
}

func TestCompareNotes(t *testing.T) {
	base := Row{Model: "m", Quant: "bf16", Status: StatusOK, Format: FormatRollbench, Prompts: 32, N: 8,
		OutputTokensPerSecond: f(100), TotalTokensPerSecond: f(300)}
	row := Row{Model: "m", Quant: "w8a8", Status: StatusOK, Format: FormatVLLMServe, Prompts: 16,
		OutputTokensPerSecond: f(100), TotalTokensPerSecond: f(300)}
	_, _, notes := compare(row, []Row{base})
	want := []string{"bf16 baseline from a rollbench file", "workload differs from bf16: 16 prompts vs 32 prompts x n=8"}
	if !reflect.DeepEqual(notes, want) {
		t.Errorf("notes = %q, want %q", notes, want)
	}
	row.Format, row.Prompts = FormatRollbench, 32
	if _, _, notes := compare(row, []Row{base}); notes != nil {
		t.Errorf("same format and workload (n not known on one side): notes = %q", notes)
	}
}

func TestBuildOrder(t *testing.T) {
	ok := func(model, quant, source string) Row {
		return Row{Model: model, Quant: quant, Status: StatusOK, Source: source, TotalTokensPerSecond: f(1)}
	}
	rows := []Row{
		ok("zeta", "W8A8", "z8.json"), ok("alpha", "bf16", "a.json"), ok("zeta", "bf16", "z.json"),
		ok("beta", "w8a8", "b2.json"), ok("beta", "w8a8", "b1.json"), ok("alpha", "int4", "a4.json"),
	}
	expected := []Key{{"zeta", "w8a16"}, {"gamma", "bf16"}, {"zeta", "bf16"}, {"zeta", "W8A16"}}
	s := Build(rows, []Problem{{"b", "y"}, {"a", "x"}}, expected)
	var got []string
	for _, e := range s.Rows {
		got = append(got, e.Model+" "+e.Quant+" "+e.Status+" "+e.Source)
	}
	want := []string{
		"zeta bf16 ok z.json", "zeta w8a16 missing ", "zeta w8a8 ok z8.json",
		"gamma bf16 missing ",
		"alpha bf16 ok a.json", "alpha int4 ok a4.json",
		"beta w8a8 ok b1.json", "beta w8a8 ok b2.json",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order =\n%q\nwant\n%q", got, want)
	}
	if n := s.Rows[6].Notes; !reflect.DeepEqual(n, []string{"one of 2 results for beta w8a8, from b1.json"}) {
		t.Errorf("duplicate notes = %q", n)
	}
	if s.Rows[7].Speedup.Reason != "no bf16 baseline" || *s.Rows[2].Speedup.Ratio != 1 {
		t.Errorf("speedups = %+v, %+v", s.Rows[7].Speedup, s.Rows[2].Speedup)
	}
	if !reflect.DeepEqual(s.Problems, []Problem{{"a", "x"}, {"b", "y"}}) {
		t.Errorf("problems = %q", s.Problems)
	}
	if rows[0].Quant != "W8A8" {
		t.Error("Build changed its input")
	}
}
