package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Key names one combination of an experiment matrix.
type Key struct{ Model, Quant string }

// Metrics a speedup may compare, named as the CSV columns that hold them.
const (
	MetricOutput = "output_tok_s"
	MetricTotal  = "total_tok_s"
)

// Summary is a folder's rows in report order, each with its speedup over its
// model's bf16 row, and the files that could not be summarized.
type Summary struct {
	Rows     []Entry   `json:"rows"`
	Problems []Problem `json:"problems,omitempty"`
}

// Entry is a row of a summary.
type Entry struct {
	Row
	Speedup Speedup `json:"speedup"`
	// Notes are the row's reason for not being ok, its warnings and what
	// a reader must know about its comparison.
	Notes []string `json:"notes,omitempty"`
}

// Speedup is a row's throughput over its model's bf16 throughput.
type Speedup struct {
	// Baseline is set on an ok bf16 row: the one the others compare with.
	Baseline bool `json:"baseline,omitempty"`
	// Ratio is nil when there is nothing to compare; Reason then says why
	// for an ok row that should have had one.
	Ratio *float64 `json:"ratio,omitempty"`
	// Metric is MetricOutput when both rows know output tok/s, else
	// MetricTotal.
	Metric string `json:"metric,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Direction is +1 when the ratio shows the row faster than bf16, -1 when
// slower and 0 when the two are equal to two decimals, as printed, or there
// is no ratio.
func (s Speedup) Direction() int {
	if s.Ratio == nil {
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
		e.Speedup, notes = compare(e.Row, baselines[e.Model])
		e.Notes = append(e.Notes, notes...)
		if n := count[Key{e.Model, e.Quant}]; n > 1 {
			e.Notes = append(e.Notes, fmt.Sprintf("one of %d results for %s %s, from %s", n, e.Model, e.Quant, e.Source))
		}
	}

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
// warnings.
func (e Entry) rowNotes() []string {
	if e.Status != StatusOK {
		if e.Reason == "" {
			return []string{"no reason recorded"}
		}
		return []string{e.Reason}
	}
	return slices.Clone(e.Warnings)
}

// compare computes an ok row's speedup over its model's ok bf16 rows (one,
// normally), with notes on what makes the comparison less direct.
func compare(r Row, baselines []Row) (Speedup, []string) {
	switch {
	case r.Status != StatusOK:
		return Speedup{}, nil
	case r.Quant == baselineQuant:
		return Speedup{Baseline: true}, nil
	case len(baselines) == 0:
		return Speedup{Reason: "no bf16 baseline"}, nil
	case len(baselines) > 1:
		return Speedup{Reason: fmt.Sprintf("%d bf16 results", len(baselines))}, nil
	}
	base := baselines[0]
	sp := ratio(r, base)
	if sp.Ratio == nil {
		return sp, nil
	}
	var notes []string
	if r.Format != base.Format {
		notes = append(notes, fmt.Sprintf("bf16 baseline from a %s file", base.Format))
	}
	if differ(r.Prompts, base.Prompts) || differ(r.N, base.N) {
		notes = append(notes, fmt.Sprintf("workload differs from bf16: %s vs %s", workload(r), workload(base)))
	}
	return sp, notes
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
	return sp
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
