package report

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/metrics"
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
	onReplicas := func(r Row, stepS float64) Row {
		r.Replicas = &Replicas{DataParallelSize: 2, StepS: stepS, Imbalance: 1.1}
		return r
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
		// bf16's step makespan over the row's, whatever the throughputs.
		{"step makespan when both ran on replicas", onReplicas(offline("w8a8", 90, 280), 3.2), []Row{onReplicas(base, 4)}, "1.25x ^", "faster", 1.25, MetricStepMakespan},
		{"longer step on replicas", onReplicas(offline("w8a8", 125, 310), 5), []Row{onReplicas(base, 4)}, "0.80x v", "slower", 0.8, MetricStepMakespan},
		{"throughput when bf16 ran on one engine", onReplicas(offline("w8a8", 125, 310), 3.2), []Row{base}, "1.25x ^", "faster", 1.25, MetricOutput},
		{"throughput when the row ran on one engine", offline("w8a8", 91, 290), []Row{onReplicas(base, 4)}, "0.91x v", "slower", 0.91, MetricOutput},
		{"zero step makespan", onReplicas(offline("w8a8", 125, 310), 0), []Row{onReplicas(base, 4)}, "N/A (step makespan of 0)", "", 0, ""},
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

// repeated is an ok offline row of m measured once per output rate.
func repeated(quant string, aa bool, rates ...float64) Row {
	r := Row{Model: "m", Quant: quant, AA: aa, Status: StatusOK, Format: FormatRollbench, Source: quant + ".json",
		Samples: &Samples{OutputTokensPerSecond: rates, TotalTokensPerSecond: rates}}
	mean := 0.0
	for _, x := range rates {
		mean += x / float64(len(rates))
	}
	r.OutputTokensPerSecond, r.TotalTokensPerSecond = f(mean), f(mean)
	if aa {
		r.Source = "bf16_aa.json"
	}
	return r
}

// TestAABand checks that an A/A row is compared with bf16 rather than
// being a second baseline, and that a speedup overlapping its band shows
// no direction whatever its p-value.
func TestAABand(t *testing.T) {
	base := repeated("bf16", false, 100, 102, 98, 101, 99)
	aa := repeated("bf16", true, 99, 102.5, 98, 101, 100.5)
	for _, tc := range []struct {
		name   string
		w8a8   Row
		within bool
		cell   string
	}{
		// Welch's p is far below 0.05, but the interval reaches into
		// the A/A band.
		{"within", repeated("w8a8", false, 102.5, 103, 102, 102.5, 103), true, "1.03x ~ [1.01, 1.05] p=0.019"},
		{"outside", repeated("w8a8", false, 120, 122, 119, 121, 120), false, "1.20x ^ [1.18, 1.23] p=<0.001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Build([]Row{tc.w8a8, aa, base}, nil, nil)
			var got []string
			for _, e := range s.Rows {
				got = append(got, e.Label()+": "+speedupCell(e.Speedup))
			}
			want := []string{"bf16: (baseline)", "bf16 (A/A): 1.00x ~ [0.98, 1.03] p=0.855", "w8a8: " + tc.cell}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("rows =\n%q\nwant\n%q", got, want)
			}
			sp := s.Rows[2].Speedup
			if !sp.Interval.Significant || sp.WithinAA != tc.within || (sp.Direction() == 0) != tc.within {
				t.Errorf("speedup %+v: within %v, direction %d", sp, sp.WithinAA, sp.Direction())
			}
			hasNote := slices.ContainsFunc(s.Rows[2].Notes, func(n string) bool {
				return strings.HasPrefix(n, "within the A/A band [0.98, 1.03]: not told apart from running bf16 twice")
			})
			if hasNote != tc.within {
				t.Errorf("notes %q", s.Rows[2].Notes)
			}
			if len(s.Geomeans) != 0 {
				t.Errorf("geomeans %+v of one model", s.Geomeans)
			}
		})
	}
}

// TestCompareLooks checks that two rows --repeat auto stopped are compared
// at the level corrected for every pair of their looks.
func TestCompareLooks(t *testing.T) {
	base := repeated("bf16", false, 100, 104, 96, 101, 99)
	w8a8 := repeated("w8a8", false, 103, 104, 102, 103, 104)
	base.Stop = &metrics.Stop{Looks: []int{3, 5, 8, 12}}
	w8a8.Stop = &metrics.Stop{Looks: []int{3, 5, 8}, Passes: 5, Reason: "reached"}
	s := Build([]Row{base, w8a8}, nil, nil)
	iv := s.Rows[1].Speedup.Interval
	want, _ := metrics.CompareLooks(w8a8.Samples.OutputTokensPerSecond, base.Samples.OutputTokensPerSecond, 12)
	if iv == nil || iv.Looks != 12 || *iv.Low != *want.Low || iv.P != want.P {
		t.Errorf("interval %+v, want %+v", iv, want)
	}
	if fs := s.Rows[1].Footnotes; len(fs) != 1 || fs[0].Label != "stopped after 5 passes" || fs[0].Text != "reached" {
		t.Errorf("footnotes %+v", fs)
	}
}

// TestExpectedAA checks that an expected A/A run without a file is a
// missing bf16 (A/A) row, apart from bf16's.
func TestExpectedAA(t *testing.T) {
	s := Build([]Row{repeated("bf16", false, 1, 2)}, nil, []Key{{"m", "bf16"}, {"m", "BF16 (A/A)"}})
	var got []string
	for _, e := range s.Rows {
		got = append(got, e.Label()+" "+e.Status)
	}
	if want := []string{"bf16 ok", "bf16 (A/A) missing"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
}

// TestPairedWithoutComparison checks that an arm with fewer than two
// rounds is compared by its figures, with no interval, and says so.
func TestPairedWithoutComparison(t *testing.T) {
	pairing := &Pairing{Baseline: "bf16", Rounds: 1, Order: [][]string{{"bf16", "w8a8"}}, Arms: []string{"bf16", "w8a8"}}
	base := Row{Model: "m", Quant: "bf16", Status: StatusOK, Source: "m_paired.json", OutputTokensPerSecond: f(100), Paired: pairing}
	w8a8 := base
	w8a8.Quant, w8a8.OutputTokensPerSecond = "w8a8", f(110)
	s := Build([]Row{base, w8a8}, nil, nil)
	e := s.Rows[1]
	if got := speedupCell(e.Speedup); got != "1.10x ^" || !slices.Contains(e.Notes, "no paired interval: fewer than 2 rounds") {
		t.Errorf("speedup %q, notes %q", got, e.Notes)
	}
	if fs := e.Footnotes; len(fs) != 1 || fs[0].Text != "order AB (A = bf16, B = w8a8)" || fs[0].Subject != "m_paired.json" {
		t.Errorf("footnotes %+v", fs)
	}
	// A failed baseline arm leaves the others without one.
	base.Status = StatusFailed
	if sp := Build([]Row{base, w8a8}, nil, nil).Rows[1].Speedup; sp.Reason != "no bf16 baseline" {
		t.Errorf("speedup without the baseline arm = %+v", sp)
	}
}
