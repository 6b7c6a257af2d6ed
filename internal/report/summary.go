package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/rollbench/rollbench/metrics"
)

// Key names one combination of an experiment matrix.
type Key struct{ Model, Quant string }

// Metrics a speedup may compare, named as the CSV columns that hold them.
const (
	MetricOutput = "output_tok_s"
	MetricTotal  = "total_tok_s"
	// MetricMeanE2EL is the latency an E2EL speedup compares.
	MetricMeanE2EL = "mean_e2el_ms"
)

// Summary is a folder's rows in report order, each with its speedups over its
// model's bf16 row, and the files that could not be summarized.
type Summary struct {
	Rows []Entry `json:"rows"`
	// Geomeans are each quantization's geometric-mean speedup over the
	// models that have one, where two models at least do.
	Geomeans []Geomean `json:"geomeans,omitempty"`
	Problems []Problem `json:"problems,omitempty"`
	// Plots are the pictures drawn beside the summary, as file names in
	// its folder.
	Plots []string `json:"plots,omitempty"`
}

// Geomean is the geometric mean of one quantization's throughput
// speedups across models.
type Geomean struct {
	Quant  string  `json:"quant"`
	Ratio  float64 `json:"ratio"`
	Models int     `json:"models"`
}

// Entry is a row of a summary.
type Entry struct {
	Row
	Speedup Speedup `json:"speedup"`
	// E2ELSpeedup compares mean end-to-end latencies, for rows that have
	// one: its model's bf16 mean E2EL over the row's, so that above 1 the
	// row is faster too.
	E2ELSpeedup Speedup `json:"e2el_speedup,omitzero"`
	// Notes are the row's reason for not being ok, its warnings and what
	// a reader must know about its comparison.
	Notes []string `json:"notes,omitempty"`
}

// Speedup is a row's throughput over its model's bf16 throughput, or its
// model's bf16 latency over the row's latency.
type Speedup struct {
	// Baseline is set on an ok bf16 row: the one the others compare with.
	Baseline bool `json:"baseline,omitempty"`
	// Ratio is nil when there is nothing to compare; Reason then says why
	// for an ok row that should have had one.
	Ratio *float64 `json:"ratio,omitempty"`
	// Metric is MetricOutput when both rows know output tok/s, else
	// MetricTotal; MetricMeanE2EL for an E2EL speedup.
	Metric string `json:"metric,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Interval is set when both rows were measured more than once: the
	// ratio of their mean throughputs with its 95% interval and Welch's
	// test of the difference.
	Interval *metrics.Ratio `json:"interval,omitempty"`
}

// Direction is +1 when the ratio shows the row faster than bf16, -1 when
// slower and 0 when the two are equal to two decimals, as printed, when
// the difference is not significant, or when there is no ratio.
func (s Speedup) Direction() int {
	if s.Ratio == nil || s.Interval != nil && !s.Interval.Significant {
		return 0
	}
	r := *s.Ratio
	switch {
	case fmt.Sprintf("%.2f", r) == "1.00":
		return 0
	case r > 1:
		return 1
	default:
		return -1
	}
}

// Build puts rows in report order: models in the order they first appear in
// expected, then the others alphabetically; within a model bf16, w8a16,
// w8a8. A combination in expected without a row becomes a row with status
// missing. Every ok row is compared with its model's ok bf16 row. Problems
// are kept, ordered by file. Build does not change its arguments.
func Build(rows []Row, problems []Problem, expected []Key) Summary {
	rank := map[string]int{}
	count := map[Key]int{}
	var s Summary
	for _, r := range rows {
		r.Quant = strings.ToLower(r.Quant)
		count[Key{r.Model, r.Quant}]++
		s.Rows = append(s.Rows, Entry{Row: r})
	}
	for _, k := range expected {
		k.Quant = strings.ToLower(k.Quant)
		if _, ok := rank[k.Model]; !ok {
			rank[k.Model] = len(rank)
		}
		if count[k] == 0 {
			count[k] = 1
			s.Rows = append(s.Rows, Entry{Row: Row{Model: k.Model, Quant: k.Quant, Status: StatusMissing, Reason: "no result file"}})
		}
	}
	slices.SortStableFunc(s.Rows, func(a, b Entry) int {
		return cmp.Or(
			cmp.Compare(modelRank(rank, a.Model), modelRank(rank, b.Model)),
			cmp.Compare(a.Model, b.Model),
			cmp.Compare(quantRank(a.Quant), quantRank(b.Quant)),
			cmp.Compare(a.Quant, b.Quant),
			cmp.Compare(a.Source, b.Source),
		)
	})

	baselines := map[string][]Row{}
	for _, e := range s.Rows {
		if e.Quant == baselineQuant && e.Status == StatusOK {
			baselines[e.Model] = append(baselines[e.Model], e.Row)
		}
	}
	for i := range s.Rows {
		e := &s.Rows[i]
		e.Notes = e.rowNotes()
		var notes []string
		e.Speedup, e.E2ELSpeedup, notes = compare(e.Row, baselines[e.Model])
		e.Notes = append(e.Notes, notes...)
		if n := count[Key{e.Model, e.Quant}]; n > 1 {
			e.Notes = append(e.Notes, fmt.Sprintf("one of %d results for %s %s, from %s", n, e.Model, e.Quant, e.Source))
		}
	}

	s.Geomeans = geomeans(s.Rows)
	s.Problems = slices.Clone(problems)
	slices.SortStableFunc(s.Problems, func(a, b Problem) int { return cmp.Compare(a.File, b.File) })
	return s
}

// modelRank orders models of the expected list first, by first appearance.
func modelRank(rank map[string]int, model string) int {
	if r, ok := rank[model]; ok {
		return r
	}
	return len(rank)
}

func quantRank(q string) int {
	if i := slices.Index(Quantizations, q); i >= 0 {
		return i
	}
	return len(Quantizations)
}

// rowNotes are what a row says about itself: why it is not ok, or its
// warnings. A row measured more than once has its warnings (mostly the
// stability checks of its repetitions) as footnotes instead, pyperf-style.
func (e Entry) rowNotes() []string {
	if e.Status != StatusOK {
		if e.Reason == "" {
			return []string{"no reason recorded"}
		}
		return []string{e.Reason}
	}
	if e.Samples != nil {
		return nil
	}
	return slices.Clone(e.Warnings)
}

// footnoted reports whether a row's warnings are footnotes.
func (e Entry) footnoted() bool {
	return e.Status == StatusOK && e.Samples != nil && len(e.Warnings) > 0
}

// compare computes an ok row's speedups over its model's ok bf16 rows (one,
// normally): on throughput, and on mean E2EL where the row has one; with
// notes on what makes the comparison less direct.
func compare(r Row, baselines []Row) (sp, e2el Speedup, notes []string) {
	switch {
	case r.Status != StatusOK:
		return Speedup{}, Speedup{}, nil
	case r.Quant == baselineQuant:
		sp = Speedup{Baseline: true}
	case len(baselines) == 0:
		sp = Speedup{Reason: "no bf16 baseline"}
	case len(baselines) > 1:
		sp = Speedup{Reason: fmt.Sprintf("%d bf16 results", len(baselines))}
	default:
		base := baselines[0]
		sp, e2el = ratio(r, base), e2elRatio(r, base)
		if sp.Ratio == nil && e2el.Ratio == nil {
			return sp, e2el, nil
		}
		if r.Format != base.Format {
			notes = append(notes, fmt.Sprintf("bf16 baseline from a %s file", base.Format))
		}
		if differ(r.Prompts, base.Prompts) || differ(r.N, base.N) {
			notes = append(notes, fmt.Sprintf("workload differs from bf16: %s vs %s", workload(r), workload(base)))
		}
		return sp, e2el, notes
	}
	if r.MeanE2ELms != nil {
		e2el = sp
	}
	return sp, e2el, nil
}

// ratio divides a row's throughput by its baseline's: output tok/s when both
// have it, else total tok/s.
func ratio(r, base Row) Speedup {
	sp := Speedup{Metric: MetricOutput}
	num, den := r.OutputTokensPerSecond, base.OutputTokensPerSecond
	if num == nil || den == nil {
		sp.Metric = MetricTotal
		num, den = r.TotalTokensPerSecond, base.TotalTokensPerSecond
	}
	switch {
	case num == nil || den == nil:
		return Speedup{Reason: "no throughput in common with bf16"}
	case *den <= 0:
		return Speedup{Reason: "bf16 throughput is 0"}
	}
	v := *num / *den
	sp.Ratio = &v
	if r.Samples != nil && base.Samples != nil {
		a, b := r.Samples.OutputTokensPerSecond, base.Samples.OutputTokensPerSecond
		if sp.Metric == MetricTotal {
			a, b = r.Samples.TotalTokensPerSecond, base.Samples.TotalTokensPerSecond
		}
		if c, ok := metrics.Compare(a, b); ok {
			sp.Interval = &c
		}
	}
	return sp
}

// geomeans are the geometric means of each quantization's throughput
// speedups, in report order, for the quantizations that two models at
// least have a speedup for.
func geomeans(rows []Entry) []Geomean {
	ratios := map[string][]float64{}
	var quants []string
	for _, e := range rows {
		if e.Speedup.Ratio == nil || e.Speedup.Metric == MetricMeanE2EL {
			continue
		}
		if _, seen := ratios[e.Quant]; !seen {
			quants = append(quants, e.Quant)
		}
		ratios[e.Quant] = append(ratios[e.Quant], *e.Speedup.Ratio)
	}
	slices.SortStableFunc(quants, func(a, b string) int { return cmp.Or(cmp.Compare(quantRank(a), quantRank(b)), cmp.Compare(a, b)) })
	var out []Geomean
	for _, q := range quants {
		if len(ratios[q]) < 2 {
			continue
		}
		if g, ok := metrics.GeoMean(ratios[q]); ok {
			out = append(out, Geomean{Quant: q, Ratio: g, Models: len(ratios[q])})
		}
	}
	return out
}

// e2elRatio divides the baseline's mean E2EL by the row's: above 1 the row
// is faster, as with throughput. A row without one has nothing to compare.
func e2elRatio(r, base Row) Speedup {
	switch {
	case r.MeanE2ELms == nil:
		return Speedup{}
	case base.MeanE2ELms == nil:
		return Speedup{Reason: "bf16 has no E2EL"}
	case *r.MeanE2ELms <= 0 || *base.MeanE2ELms <= 0:
		return Speedup{Reason: "mean E2EL of 0"}
	}
	v := *base.MeanE2ELms / *r.MeanE2ELms
	return Speedup{Ratio: &v, Metric: MetricMeanE2EL}
}

// differ reports two known (non-zero) workload figures that are not equal.
func differ(a, b int) bool { return a != 0 && b != 0 && a != b }

func workload(r Row) string {
	s := "? prompts"
	if r.Prompts != 0 {
		s = fmt.Sprintf("%d prompts", r.Prompts)
	}
	if r.N != 0 {
		s += fmt.Sprintf(" x n=%d", r.N)
	}
	return s
}
