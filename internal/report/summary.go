package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/rollbench/rollbench/internal/result"
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
	// MetricStepMakespan is what a speedup between two data-parallel
	// steps compares, their headline.
	MetricStepMakespan = "step_makespan_s"
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
	Quant string  `json:"quant"`
	Ratio float64 `json:"ratio"`
	// Metric is the metric of the speedups, or theirs joined by "+" when
	// they differ.
	Metric string `json:"metric"`
	Models int    `json:"models"`
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
	// Footnotes are what a reader must know that is too long for a
	// table's cell: how a paired experiment ordered its rounds, why
	// --repeat auto stopped. Tables show their labels with a reference,
	// the CSV their text.
	Footnotes []Footnote `json:"footnotes,omitempty"`
	// NotAboveFloor is set on a quantized row whose k3 KL or probs diff
	// max is not above its bf16 baseline's, the floor that exists
	// without quantization: by that figure the row cannot be told from
	// bf16.
	NotAboveFloor bool `json:"mismatch_not_above_floor,omitempty"`
}

// Footnote is a note a table shows as Label [n], and below it as [n]
// Subject: Text. Rows with the same subject and text share one.
type Footnote struct {
	Label   string `json:"label"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// Speedup is a row's throughput over its model's bf16 throughput, or its
// model's bf16 latency over the row's latency.
type Speedup struct {
	// Baseline is set on an ok bf16 row: the one the others compare with.
	Baseline bool `json:"baseline,omitempty"`
	// Ratio is nil when there is nothing to compare; Reason then says why
	// for an ok row that should have had one.
	Ratio *float64 `json:"ratio,omitempty"`
	// Metric is MetricStepMakespan when both rows ran on replicas, else
	// MetricOutput when both know output tok/s, else MetricTotal;
	// MetricMeanE2EL for an E2EL speedup.
	Metric string `json:"metric,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Interval is set when both rows were measured more than once: the
	// ratio of their mean throughputs with its 95% interval and Welch's
	// test of the difference.
	Interval *metrics.Ratio `json:"interval,omitempty"`
	// Paired is set instead on a row of a paired experiment: the paired
	// ratio over the baseline arm it alternated with, its interval and
	// the paired test, from the file.
	Paired *metrics.PairedRatio `json:"paired,omitempty"`
	// AABand is the A/A band the speedup is held to, where its model has
	// one, and WithinAA is set when the speedup's interval (its ratio,
	// without one) overlaps it: the row is then not told apart from
	// running bf16 twice, whatever its p-value.
	AABand   *Band `json:"aa_band,omitempty"`
	WithinAA bool  `json:"within_aa_band,omitempty"`
}

// Band is an interval of speedups; a nil bound is unbounded.
type Band struct {
	Low  *float64 `json:"low,omitempty"`
	High *float64 `json:"high,omitempty"`
}

// band is the speedup's interval, ok false without one.
func (s Speedup) band() (b Band, ok bool) {
	switch {
	case s.Paired != nil:
		return Band{Low: &s.Paired.Low, High: &s.Paired.High}, true
	case s.Interval != nil:
		return Band{Low: s.Interval.Low, High: s.Interval.High}, true
	}
	return Band{}, false
}

// overlaps reports whether two bands share a point, by metrics' rule.
func (b Band) overlaps(o Band) bool { return b.interval().Overlaps(o.interval()) }

func (b Band) interval() metrics.PairedRatio {
	r := metrics.PairedRatio{Low: math.Inf(-1), High: math.Inf(1)}
	if b.Low != nil && b.High != nil {
		r.Low, r.High = *b.Low, *b.High
	}
	return r
}

// p is the speedup's p-value, ok false without a test.
func (s Speedup) p() (p float64, ok bool) {
	switch {
	case s.Paired != nil:
		return s.Paired.P, true
	case s.Interval != nil:
		return s.Interval.P, true
	}
	return 0, false
}

// notSignificant reports a speedup that cannot be told apart from 1: its
// test's, or its interval overlapping the A/A band.
func (s Speedup) notSignificant() bool {
	return s.Interval != nil && !s.Interval.Significant || s.Paired != nil && !s.Paired.Significant || s.WithinAA
}

// Direction is +1 when the ratio shows the row faster than bf16, -1 when
// slower and 0 when the two are equal to two decimals, as printed, when
// the difference is not significant or within the model's A/A band, or
// when there is no ratio.
func (s Speedup) Direction() int {
	if s.Ratio == nil || s.notSignificant() {
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
// expected, then the others alphabetically; within a model bf16, bf16
// (A/A), w8a16, w8a8. A combination in expected without a row becomes a row
// with status missing (a Quant of "bf16 (A/A)" names the A/A run). Every ok
// row is compared with its model's ok bf16 row, never an A/A one; a row of
// a paired file with its file's bf16 arm, by the file's paired ratio. An A/A
// row's interval is its model's A/A band, and a speedup overlapping it is
// not significant. Problems are kept, ordered by file. Build does not
// change its arguments.
func Build(rows []Row, problems []Problem, expected []Key) Summary {
	rank := map[string]int{}
	count := map[Key]int{}
	var s Summary
	for _, r := range rows {
		r.Quant = strings.ToLower(r.Quant)
		count[Key{r.Model, r.Label()}]++
		s.Rows = append(s.Rows, Entry{Row: r})
	}
	for _, k := range expected {
		quant, aa := parseLabel(strings.ToLower(k.Quant))
		missing := Row{Model: k.Model, Quant: quant, AA: aa, Status: StatusMissing, Reason: "no result file"}
		k.Quant = missing.Label()
		if _, ok := rank[k.Model]; !ok {
			rank[k.Model] = len(rank)
		}
		if count[k] == 0 {
			count[k] = 1
			s.Rows = append(s.Rows, Entry{Row: missing})
		}
	}
	slices.SortStableFunc(s.Rows, func(a, b Entry) int {
		return cmp.Or(
			cmp.Compare(modelRank(rank, a.Model), modelRank(rank, b.Model)),
			cmp.Compare(a.Model, b.Model),
			cmp.Compare(quantRank(a.Quant), quantRank(b.Quant)),
			cmp.Compare(a.Quant, b.Quant),
			cmpBool(a.AA, b.AA),
			cmp.Compare(a.Source, b.Source),
		)
	})

	baselines := map[string][]Row{}
	for _, e := range s.Rows {
		if e.isBaseline() && e.Status == StatusOK {
			baselines[e.Model] = append(baselines[e.Model], e.Row)
		}
	}
	for i := range s.Rows {
		e := &s.Rows[i]
		e.Notes = e.rowNotes()
		var notes []string
		if e.Paired != nil {
			e.Speedup, notes = comparePaired(e.Row, pairedBaseline(s.Rows, e.Row))
		} else {
			e.Speedup, e.E2ELSpeedup, notes = compare(e.Row, baselines[e.Model])
		}
		e.Notes = append(e.Notes, notes...)
		if n := count[Key{e.Model, e.Label()}]; n > 1 {
			e.Notes = append(e.Notes, fmt.Sprintf("one of %d results for %s %s, from %s", n, e.Model, e.Label(), e.Source))
		}
		e.Footnotes = e.rowFootnotes()
	}
	markAA(s.Rows)
	markFloor(s.Rows, baselines)

	s.Geomeans = geomeans(s.Rows)
	s.Problems = slices.Clone(problems)
	slices.SortStableFunc(s.Problems, func(a, b Problem) int { return cmp.Compare(a.File, b.File) })
	return s
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// parseLabel splits a label such as "bf16 (A/A)" into its quantization
// and A/A mark.
func parseLabel(label string) (quant string, aa bool) {
	if q, ok := strings.CutSuffix(label, strings.ToLower(result.AASuffix)); ok {
		return q, true
	}
	return label, false
}

// isBaseline reports a row the others of its model compare with: bf16,
// measured as the baseline rather than as the A/A floor.
func (r Row) isBaseline() bool { return r.Quant == baselineQuant && !r.AA }

// pairedBaseline is the baseline arm of the paired file r came from, nil
// when the summary has none.
func pairedBaseline(rows []Entry, r Row) *Row {
	for i := range rows {
		b := &rows[i].Row
		if b.Source == r.Source && b.Paired != nil && b.isBaseline() {
			return b
		}
	}
	return nil
}

// comparePaired compares an ok arm of a paired experiment with its
// baseline arm by the file's paired comparison.
func comparePaired(r Row, base *Row) (Speedup, []string) {
	switch {
	case r.Status != StatusOK:
		return Speedup{}, nil
	case r.isBaseline():
		return Speedup{Baseline: true}, nil
	case base == nil || base.Status != StatusOK:
		return Speedup{Reason: "no bf16 baseline"}, nil
	case r.Paired.Comparison == nil:
		// Fewer than two rounds: the figures' ratio, with no interval.
		sp := ratio(r, *base)
		sp.Interval = nil
		return sp, []string{"no paired interval: fewer than 2 rounds"}
	}
	c := *r.Paired.Comparison
	return Speedup{Ratio: &c.Ratio, Metric: MetricOutput, Paired: &c}, nil
}

// rowFootnotes say how a paired row's rounds were ordered and why
// --repeat auto stopped.
func (e Entry) rowFootnotes() []Footnote {
	if e.Status != StatusOK {
		return nil
	}
	if p := e.Paired; p != nil {
		text := "order " + orderText(p)
		if e.Stop != nil {
			text += "; stopped: " + e.Stop.Reason
		}
		return []Footnote{{Label: fmt.Sprintf("paired, %d rounds", p.Rounds), Subject: e.Source, Text: text}}
	}
	if e.Stop != nil {
		return []Footnote{{Label: fmt.Sprintf("stopped after %d passes", e.Stop.Passes), Subject: e.Model + " " + e.Label(), Text: e.Stop.Reason}}
	}
	return nil
}

// orderText writes a paired file's order of rounds with a letter per arm:
// "ABC CBA (A = bf16, B = bf16 (A/A), C = w8a8)".
func orderText(p *Pairing) string {
	letter := map[string]string{}
	legend := make([]string, len(p.Arms))
	for i, a := range p.Arms {
		letter[a] = string(rune('A' + i%26))
		legend[i] = letter[a] + " = " + a
	}
	rounds := make([]string, len(p.Order))
	for i, round := range p.Order {
		for _, a := range round {
			rounds[i] += cmp.Or(letter[a], "?")
		}
	}
	return strings.Join(rounds, " ") + " (" + strings.Join(legend, ", ") + ")"
}

// markAA gives each A/A row's speedup interval as its model's A/A band, and
// marks the quantized rows whose interval overlaps it as not told apart
// from bf16. A row of a paired file is held to the band of its own file;
// another to its model's one A/A row not from a paired file.
func markAA(rows []Entry) {
	type aaKey struct{ model, source string }
	bands := map[aaKey][]Band{}
	for i := range rows {
		e := &rows[i]
		if !e.AA || e.Status != StatusOK || e.Speedup.Ratio == nil {
			continue
		}
		b, ok := e.Speedup.band()
		if !ok {
			continue
		}
		if !e.Speedup.notSignificant() {
			e.Notes = append(e.Notes, "the A/A interval leaves out 1: the two bf16 runs differed (drift, or the 1 in 20 an interval misses)")
		}
		source := ""
		if e.Paired != nil {
			source = e.Source
		}
		bands[aaKey{e.Model, source}] = append(bands[aaKey{e.Model, source}], b)
	}
	for i := range rows {
		e := &rows[i]
		if e.AA || e.Speedup.Ratio == nil {
			continue
		}
		source := ""
		if e.Paired != nil {
			source = e.Source
		}
		aa := bands[aaKey{e.Model, source}]
		if len(aa) != 1 {
			continue
		}
		b, ok := e.Speedup.band()
		if !ok {
			b = Band{Low: e.Speedup.Ratio, High: e.Speedup.Ratio}
		}
		e.Speedup.AABand = &aa[0]
		if b.overlaps(aa[0]) {
			e.Speedup.WithinAA = true
			e.Notes = append(e.Notes, "within the A/A band "+bandText(aa[0])+": not told apart from running bf16 twice")
		}
	}
}

// markFloor marks the scored quantized rows whose mismatch is not above
// their baseline's (a paired arm's is its file's bf16 arm), and notes why
// a row that asked for a mismatch has none.
func markFloor(rows []Entry, baselines map[string][]Row) {
	for i := range rows {
		e := &rows[i]
		if e.Status != StatusOK || e.AA {
			continue
		}
		if e.MismatchError != "" {
			e.Notes = append(e.Notes, "mismatch: "+e.MismatchError)
		}
		if e.Mismatch == nil || e.isBaseline() {
			continue
		}
		var floor *Row
		switch {
		case e.Paired != nil:
			floor = pairedBaseline(rows, e.Row)
		case len(baselines[e.Model]) == 1:
			floor = &baselines[e.Model][0]
		}
		if floor == nil || floor.Mismatch == nil {
			continue
		}
		m, f := e.Mismatch, floor.Mismatch
		// NaN is above nothing: a figure that is not defined does not
		// show the row apart from its floor.
		e.NotAboveFloor = !(m.K3KL.Value > f.K3KL.Value) || !(m.ProbsDiffMax.Value > f.ProbsDiffMax.Value)
	}
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
	case r.isBaseline():
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
			notes = append(notes, fmt.Sprintf("workload differs from bf16: %s vs %s", describeWorkload(r), describeWorkload(base)))
		}
		if describeEngines(r) != describeEngines(base) {
			notes = append(notes, fmt.Sprintf("data-parallel size differs from bf16: %s vs %s", describeEngines(r), describeEngines(base)))
		}
		return sp, e2el, notes
	}
	if r.MeanE2ELms != nil {
		e2el = sp
	}
	return sp, e2el, nil
}

// ratio divides a row's throughput by its baseline's: output tok/s when both
// have it, else total tok/s; or, for two data-parallel steps, the
// baseline's step makespan by the row's.
func ratio(r, base Row) Speedup {
	if r.Replicas != nil && base.Replicas != nil {
		return makespanRatio(r, base)
	}
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
		// Rows that --repeat auto stopped were looked at len(Looks) times
		// each: a Bonferroni bound over every pair of stopping points.
		if c, ok := metrics.CompareLooks(a, b, looks(r)*looks(base)); ok {
			sp.Interval = &c
		}
	}
	return sp
}

// makespanRatio compares two data-parallel steps by their headline, the
// step makespan: the baseline's over the row's, so that above 1 the row is
// faster, as with throughput. Output tokens do not enter it: the step is
// done when its last sample is, however long the samples were.
func makespanRatio(r, base Row) Speedup {
	if !(r.Replicas.StepS > 0) {
		return Speedup{Reason: "step makespan of 0"}
	}
	v := base.Replicas.StepS / r.Replicas.StepS
	sp := Speedup{Ratio: &v, Metric: MetricStepMakespan}
	if r.Samples != nil && base.Samples != nil {
		// A data-parallel pass's elapsed time is its step makespan.
		if c, ok := metrics.CompareLooks(base.Samples.ElapsedSeconds, r.Samples.ElapsedSeconds, looks(r)*looks(base)); ok {
			sp.Interval = &c
		}
	}
	return sp
}

// looks is how many looks a row's stopping rule took, 1 without one.
func looks(r Row) int {
	if r.Stop == nil || len(r.Stop.Looks) == 0 {
		return 1
	}
	return len(r.Stop.Looks)
}

// geomeans are the geometric means of each quantization's throughput
// speedups, in report order, for the quantizations that two models at
// least have a speedup for.
func geomeans(rows []Entry) []Geomean {
	ratios, metricsOf := map[string][]float64{}, map[string][]string{}
	var quants []string
	for _, e := range rows {
		if e.Speedup.Ratio == nil || e.Speedup.Metric == MetricMeanE2EL || e.AA {
			continue
		}
		if _, seen := ratios[e.Quant]; !seen {
			quants = append(quants, e.Quant)
		}
		ratios[e.Quant] = append(ratios[e.Quant], *e.Speedup.Ratio)
		if !slices.Contains(metricsOf[e.Quant], e.Speedup.Metric) {
			metricsOf[e.Quant] = append(metricsOf[e.Quant], e.Speedup.Metric)
		}
	}
	slices.SortStableFunc(quants, func(a, b string) int { return cmp.Or(cmp.Compare(quantRank(a), quantRank(b)), cmp.Compare(a, b)) })
	var out []Geomean
	for _, q := range quants {
		if len(ratios[q]) < 2 {
			continue
		}
		if g, ok := metrics.GeoMean(ratios[q]); ok {
			slices.Sort(metricsOf[q])
			out = append(out, Geomean{Quant: q, Ratio: g, Metric: strings.Join(metricsOf[q], "+"), Models: len(ratios[q])})
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

func describeEngines(r Row) string {
	if r.Replicas == nil {
		return "one engine"
	}
	return fmt.Sprintf("%d replicas", r.Replicas.DataParallelSize)
}

func describeWorkload(r Row) string {
	s := "? prompts"
	if r.Prompts != 0 {
		s = fmt.Sprintf("%d prompts", r.Prompts)
	}
	if r.N != 0 {
		s += fmt.Sprintf(" x n=%d", r.N)
	}
	return s
}
