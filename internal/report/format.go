package report

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rollbench/rollbench/metrics"
)

// Reporter writes a summary in one format.
type Reporter func(w io.Writer, s Summary) error

var (
	_ Reporter = Text
	_ Reporter = CSV
	_ Reporter = Markdown
)

// column is a column of the text and Markdown tables; numbers align right.
type column struct {
	name    string
	numeric bool
}

var (
	leadColumns = []column{{"model", false}, {"quant", false}, {"status", false},
		{"output tok/s", true}, {"elapsed s", true}, {"req/s", true}, {"seq/s", true}, {"speedup vs bf16", false}}
	// e2elColumns follow when a row has E2EL figures.
	e2elColumns = []column{{"E2EL mean ms", true}, {"E2EL p99 ms", true}, {"E2EL speedup vs bf16", false}}
	// replicaColumns follow the speedup when a row ran on replicas.
	replicaColumns = []column{{"step makespan s", true}, {"imbalance", true}}
	// mismatchColumns follow them when a row has a mismatch.
	mismatchColumns = []column{{"k3 KL", true}, {"probs diff max", true}}
	notesColumn     = column{"notes", false}
)

// hasE2EL reports whether an ok row of s has E2EL figures, for which the
// reports add columns.
func hasE2EL(s Summary) bool {
	for _, e := range s.Rows {
		if e.Status == StatusOK && (e.MeanE2ELms != nil || e.P99E2ELms != nil) {
			return true
		}
	}
	return false
}

// hasMismatch reports whether an ok row of s that is not an A/A one has a
// mismatch, for which the tables add columns.
func hasMismatch(s Summary) bool {
	return slices.ContainsFunc(s.Rows, func(e Entry) bool { return scored(e) })
}

// hasReplicas reports whether an ok row of s ran on replicas, for which
// the tables add columns.
func hasReplicas(s Summary) bool {
	return slices.ContainsFunc(s.Rows, func(e Entry) bool { return e.Status == StatusOK && e.Replicas != nil })
}

// scored reports a row whose mismatch the summaries show: an A/A row's
// is not, being bf16 against the same reference as the baseline's.
func scored(e Entry) bool { return e.Status == StatusOK && !e.AA && e.Mismatch != nil }

// hasSamples reports whether an ok row of s was measured more than once,
// for which the reports show intervals.
func hasSamples(s Summary) bool {
	for _, e := range s.Rows {
		if e.Status == StatusOK && e.Samples != nil {
			return true
		}
	}
	return false
}

// totalMark flags a speedup computed on total rather than output tok/s.
const totalMark = "¹"

// Text writes an aligned table for a terminal, then the files not
// summarized and the footnotes.
func Text(w io.Writer, s Summary) error {
	var b strings.Builder
	if len(s.Rows) == 0 {
		b.WriteString("no results\n")
	}
	cols, cells, widths := table(s, clean)
	for _, row := range cells {
		b.WriteString(strings.TrimRight(strings.Join(pad(row, cols, widths), "  "), " ") + "\n")
	}
	if len(s.Problems) > 0 {
		b.WriteString("\nFiles not summarized:\n")
		for _, p := range s.Problems {
			fmt.Fprintf(&b, "  %s: %s\n", p.File, clean(p.Reason))
		}
	}
	if notes := footnotes(s); len(notes) > 0 {
		b.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown writes a GitHub table, then the files not summarized as a
// bullet list and the footnotes as paragraphs.
func Markdown(w io.Writer, s Summary) error {
	var b strings.Builder
	if len(s.Rows) == 0 {
		b.WriteString("No results.\n")
	}
	cols, cells, widths := table(s, func(c string) string { return markdownEscape(clean(c)) })
	for i, row := range cells {
		b.WriteString("| " + strings.Join(pad(row, cols, widths), " | ") + " |\n")
		if i == 0 {
			rule := make([]string, len(widths))
			for j, n := range widths {
				rule[j] = strings.Repeat("-", n)
				if cols[j].numeric {
					rule[j] = strings.Repeat("-", n-1) + ":"
				}
			}
			b.WriteString("| " + strings.Join(rule, " | ") + " |\n")
		}
	}
	if len(s.Problems) > 0 {
		b.WriteString("\nFiles not summarized:\n\n")
		for _, p := range s.Problems {
			fmt.Fprintf(&b, "- %s: %s\n", markdownCode(p.File), markdownEscape(clean(p.Reason)))
		}
	}
	for _, n := range footnotes(s) {
		b.WriteString("\n" + markdownEscape(n) + "\n")
	}
	if len(s.Plots) > 0 {
		b.WriteString("\nPlots:\n\n")
		for _, p := range s.Plots {
			fmt.Fprintf(&b, "- [%s](%s)\n", markdownEscape(p), markdownLink(p))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// markdownLink makes a file name safe as a link target.
func markdownLink(name string) string {
	return (&url.URL{Path: name}).EscapedPath()
}

// CSV writes one record per row after a header: numbers in full precision,
// an empty cell where a figure is not known, the speedup as a number with
// its metric and direction (faster, slower, same, baseline) in their own
// columns, and when a row has E2EL figures the E2EL speedup and its
// direction too. Files not summarized are not part of it.
func CSV(w io.Writer, s Summary) error {
	e2el, samples := hasE2EL(s), hasSamples(s)
	cw := csv.NewWriter(w)
	header := []string{"model", "quant", "status", "format", "source",
		"output_tok_s", "total_tok_s", "elapsed_s", "req_s", "seq_s", "mean_e2el_ms", "p99_e2el_ms",
		"speedup_vs_bf16", "speedup_metric", "speedup_direction"}
	// The mismatch columns are always there, so that a reader finds them
	// at the same place in every summary.
	header = append(header, "mismatch_reference", "mismatch_tokens")
	for _, f := range csvMismatch {
		header = append(header, f.name)
	}
	// So are a data-parallel step's.
	header = append(header, "data_parallel_size", MetricStepMakespan, "imbalance")
	if e2el {
		header = append(header, "e2el_speedup_vs_bf16", "e2el_speedup_direction")
	}
	if samples {
		header = append(header, "repetitions", "output_tok_s_ci95_low", "output_tok_s_ci95_high",
			"speedup_ci95_low", "speedup_ci95_high", "speedup_p", "speedup_ci_level", "speedup_test")
	}
	cw.Write(append(header, "notes"))
	for _, e := range s.Rows {
		ok := e.Status == StatusOK
		raw := func(v *float64) string {
			if !ok {
				return ""
			}
			return raw(v)
		}
		notes := slices.Clone(e.Notes)
		if e.footnoted() {
			notes = append(notes, e.Warnings...)
		}
		for _, f := range e.Footnotes {
			notes = append(notes, f.Label+": "+f.Text)
		}
		if e.Speedup.Reason != "" {
			notes = append(notes, "speedup N/A: "+e.Speedup.Reason)
		}
		if e.NotAboveFloor {
			notes = append(notes, "mismatch not above its model's bf16 floor")
		}
		record := []string{e.Model, e.Label(), e.Status, e.Format, e.Source,
			raw(e.OutputTokensPerSecond), raw(e.TotalTokensPerSecond), raw(e.ElapsedSeconds),
			raw(e.RequestsPerSecond), raw(e.SequencesPerSecond), raw(e.MeanE2ELms), raw(e.P99E2ELms),
			raw(e.Speedup.Ratio), e.Speedup.Metric, direction(e.Speedup)}
		record = append(record, mismatchRecord(e)...)
		record = append(record, replicasRecord(e)...)
		if e2el {
			record = append(record, raw(e.E2ELSpeedup.Ratio), direction(e.E2ELSpeedup))
			if e.E2ELSpeedup.Reason != "" {
				notes = append(notes, "E2EL speedup N/A: "+e.E2ELSpeedup.Reason)
			}
		}
		if samples {
			record = append(record, intervalRecord(e)...)
		}
		cw.Write(append(record, clean(strings.Join(notes, "; "))))
	}
	for _, g := range s.Geomeans {
		record := make([]string, len(header)+1)
		record[0], record[1], record[2] = "geomean", g.Quant, "geomean"
		v := g.Ratio
		record[12], record[13], record[14] = raw(&v), g.Metric, direction(Speedup{Ratio: &v})
		record[len(record)-1] = fmt.Sprintf("geometric mean over %d models", g.Models)
		cw.Write(record)
	}
	cw.Flush()
	return cw.Error()
}

// csvMismatch are the mismatch figures the CSV has columns for, under
// verl's names.
var csvMismatch = []struct {
	name   string
	figure func(*metrics.Mismatch) metrics.Figure
}{
	{"k3_kl", func(m *metrics.Mismatch) metrics.Figure { return m.K3KL }},
	{"kl", func(m *metrics.Mismatch) metrics.Figure { return m.KL }},
	{"rollout_probs_diff_max", func(m *metrics.Mismatch) metrics.Figure { return m.ProbsDiffMax }},
	{"rollout_probs_diff_mean", func(m *metrics.Mismatch) metrics.Figure { return m.ProbsDiffMean }},
	{"rollout_actor_probs_pearson_corr", func(m *metrics.Mismatch) metrics.Figure { return m.ProbsPearson }},
	{"chi2_token", func(m *metrics.Mismatch) metrics.Figure { return m.Chi2Token }},
	{"chi2_seq", func(m *metrics.Mismatch) metrics.Figure { return m.Chi2Seq }},
	{"log_ppl_abs_diff", func(m *metrics.Mismatch) metrics.Figure { return m.LogPPLAbsDiff }},
	{"ppl_ratio", func(m *metrics.Mismatch) metrics.Figure { return m.PPLRatio }},
	{"rollout_is_eff_sample_size", func(m *metrics.Mismatch) metrics.Figure { return m.ISESS }},
}

// mismatchRecord is a scored row's reference, the tokens its figures are
// over and the figures, in CSV cells: NaN and +Inf as such, every cell
// empty for a row without one.
func mismatchRecord(e Entry) []string {
	cells := make([]string, 2+len(csvMismatch))
	if !scored(e) {
		return cells
	}
	m := &e.Mismatch.Mismatch
	cells[0], cells[1] = string(e.Mismatch.Reference), strconv.Itoa(m.K3KL.Count)
	for i, f := range csvMismatch {
		v := f.figure(m).Value
		cells[2+i] = raw(&v)
	}
	return cells
}

// replicasRecord is an ok data-parallel row's size, step makespan and
// imbalance in CSV cells, empty for any other row.
func replicasRecord(e Entry) []string {
	r := e.Replicas
	if e.Status != StatusOK || r == nil {
		return make([]string, 3)
	}
	return []string{strconv.Itoa(r.DataParallelSize), raw(&r.StepS), raw(&r.Imbalance)}
}

// raw is a number in full precision, empty when not known.
func raw(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// intervalRecord is a row's repetitions, its output tok/s interval and its
// speedup's interval, p-value, the interval's level (below 0.95 never,
// above it when corrected for a stopping rule's looks) and the test, in
// CSV cells.
func intervalRecord(e Entry) []string {
	cells := make([]string, 8)
	if e.Status != StatusOK || e.Samples == nil {
		return cells
	}
	est := metrics.NewEstimate(e.Samples.OutputTokensPerSecond)
	cells[0] = strconv.Itoa(est.N)
	cells[1], cells[2] = raw(&est.Low), raw(&est.High)
	sp := e.Speedup
	if b, ok := sp.band(); ok {
		p, _ := sp.p()
		cells[3], cells[4], cells[5] = raw(b.Low), raw(b.High), raw(&p)
		if sp.Paired != nil {
			cells[6], cells[7] = raw(&sp.Paired.Level), "paired"
		} else {
			level := 1 - metrics.Alpha/float64(max(sp.Interval.Looks, 1))
			cells[6], cells[7] = raw(&level), "welch"
		}
	}
	return cells
}

func direction(sp Speedup) string {
	switch {
	case sp.Baseline:
		return "baseline"
	case sp.Ratio == nil:
		return ""
	case sp.notSignificant():
		return "not significant"
	}
	return [...]string{"slower", "same", "faster"}[sp.Direction()+1]
}

// table is the columns, the header and one line per row, each cell passed
// through esc, and the width of each column in runes.
func table(s Summary, esc func(string) string) (cols []column, cells [][]string, widths []int) {
	if len(s.Rows) == 0 {
		return nil, nil, nil
	}
	e2el, mismatch, replicas := hasE2EL(s), hasMismatch(s), hasReplicas(s)
	cols = slices.Clone(leadColumns)
	if replicas {
		cols = append(cols, replicaColumns...)
	}
	if mismatch {
		cols = append(cols, mismatchColumns...)
	}
	if e2el {
		cols = append(cols, e2elColumns...)
	}
	cols = append(cols, notesColumn)
	header := make([]string, len(cols))
	for j, c := range cols {
		header[j] = c.name
	}
	cells = append(cells, header)
	refs, _ := numberFootnotes(s)
	for i, e := range s.Rows {
		ok := e.Status == StatusOK
		notes := append(shownNotes(e, !e2el), refs[i]...)
		row := []string{e.Model, e.Label(), e.Status,
			withInterval(fixed(e.OutputTokensPerSecond, 1, ok), e), fixed(e.ElapsedSeconds, 2, ok),
			fixed(e.RequestsPerSecond, 2, ok), fixed(e.SequencesPerSecond, 2, ok),
			speedupCell(e.Speedup)}
		if replicas {
			step, imbalance := "N/A", "N/A"
			if r := e.Replicas; ok && r != nil {
				step, imbalance = fixed(&r.StepS, 3, true), fixed(&r.Imbalance, 2, true)
			}
			row = append(row, step, imbalance)
		}
		if mismatch {
			k3, probs := "N/A", "N/A"
			if scored(e) {
				k3, probs = sci(e.Mismatch.K3KL.Value), sci(e.Mismatch.ProbsDiffMax.Value)
			}
			row = append(row, k3, probs)
		}
		if e2el {
			row = append(row, fixed(e.MeanE2ELms, 2, ok), fixed(e.P99E2ELms, 2, ok), speedupCell(e.E2ELSpeedup))
		}
		cells = append(cells, append(row, strings.Join(notes, "; ")))
	}
	for _, g := range s.Geomeans {
		v := g.Ratio
		row := make([]string, len(cols))
		row[0], row[1] = "geomean", g.Quant
		row[len(leadColumns)-1] = speedupCell(Speedup{Ratio: &v})
		row[len(cols)-1] = fmt.Sprintf("over %d models", g.Models)
		cells = append(cells, row)
	}
	widths = make([]int, len(cols))
	for _, row := range cells {
		for j := range row {
			row[j] = esc(row[j])
			widths[j] = max(widths[j], utf8.RuneCountInString(row[j]))
		}
	}
	return cols, cells, widths
}

// pad widens each cell to its column's width, numbers to the right.
func pad(row []string, cols []column, widths []int) []string {
	out := make([]string, len(row))
	for j, c := range row {
		fill := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c))
		if cols[j].numeric {
			out[j] = fill + c
		} else {
			out[j] = c + fill
		}
	}
	return out
}

// sci prints a mismatch figure with two significant digits, 8.3e-06; not
// a number as N/A, an overflow as inf.
func sci(v float64) string {
	switch {
	case math.IsNaN(v):
		return "N/A"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'e', 1, 64)
}

func fixed(v *float64, decimals int, ok bool) string {
	if v == nil || !ok {
		return "N/A"
	}
	return strconv.FormatFloat(*v, 'f', decimals, 64)
}

// speedupCell prints a speedup as 1.25x ^ (faster than bf16), 0.91x v
// (slower) or 1.00x (equal to two decimals).
func speedupCell(sp Speedup) string {
	switch {
	case sp.Baseline:
		return "(baseline)"
	case sp.Ratio == nil && sp.Reason != "":
		return "N/A (" + sp.Reason + ")"
	case sp.Ratio == nil:
		return "N/A"
	}
	s := fmt.Sprintf("%.2fx", *sp.Ratio)
	switch {
	case sp.notSignificant():
		s += " ~"
	case sp.Direction() == 1:
		s += " ^"
	case sp.Direction() == -1:
		s += " v"
	}
	if b, ok := sp.band(); ok {
		p, _ := sp.p()
		s += " " + bandText(b) + " p=" + metrics.PValue(p)
	}
	if sp.Paired != nil {
		s += " paired"
	}
	if sp.Metric == MetricTotal {
		s += " " + totalMark
	}
	return s
}

// bandText prints a speedup's interval as [0.95, 1.21], or [unbounded].
func bandText(b Band) string {
	if b.Low == nil || b.High == nil {
		return "[unbounded]"
	}
	return fmt.Sprintf("[%.2f, %.2f]", *b.Low, *b.High)
}

// withInterval adds to a figure cell its 95% interval's half width as a
// share of the mean, where the row was measured more than once.
func withInterval(cell string, e Entry) string {
	if e.Status != StatusOK || e.Samples == nil || len(e.Samples.OutputTokensPerSecond) < 2 {
		return cell
	}
	return fmt.Sprintf("%s ±%.1f%%", cell, 100*metrics.NewEstimate(e.Samples.OutputTokensPerSecond).HalfWidth())
}

// shownNotes are an entry's notes with the figures the table has no
// column for in front: the E2EL ones only when e2elInNotes.
func shownNotes(e Entry, e2elInNotes bool) []string {
	var notes []string
	if e.Status == StatusOK {
		if e.OutputTokensPerSecond == nil && e.TotalTokensPerSecond != nil {
			notes = append(notes, fmt.Sprintf("total %.1f tok/s", *e.TotalTokensPerSecond))
		}
		if e2elInNotes && e.MeanE2ELms != nil {
			notes = append(notes, fmt.Sprintf("mean e2el %.2f ms", *e.MeanE2ELms))
		}
		if e2elInNotes && e.P99E2ELms != nil {
			notes = append(notes, fmt.Sprintf("p99 e2el %.2f ms", *e.P99E2ELms))
		}
	}
	return append(notes, e.Notes...)
}

// significance says what a speedup's mark means.
func significance() string {
	return fmt.Sprintf(", ~ when not significant at alpha %.2f, ^ or v when significant", metrics.Alpha)
}

// footnotes say what the speedups compare.
func footnotes(s Summary) []string {
	var output, total, makespan bool
	for _, e := range s.Rows {
		if e.Speedup.Ratio != nil {
			output = output || e.Speedup.Metric == MetricOutput
			total = total || e.Speedup.Metric == MetricTotal
			makespan = makespan || e.Speedup.Metric == MetricStepMakespan
		}
	}
	var notes []string
	const marks = "; ^ faster than bf16, v slower, no mark when equal to 2 decimals."
	switch {
	case (output || total) && makespan:
		notes = append(notes, "speedup vs bf16: the row's output tok/s / its model's bf16 output tok/s, or where both ran on replicas (both have a step makespan) its model's bf16 step makespan / the row's"+marks)
	case makespan:
		notes = append(notes, "speedup vs bf16: its model's bf16 step makespan / the row's"+marks)
	case output || total:
		notes = append(notes, "speedup vs bf16: the row's output tok/s / its model's bf16 output tok/s"+marks)
	}
	if hasReplicas(s) {
		notes = append(notes, "step makespan s: a data-parallel step's (--data-parallel-size, or a model's data_parallel_size) time until its last sample was back from any replica, the headline of a rollout that waits for all; "+
			"imbalance: its slowest replica's makespan / the mean replica's, 1 when all finish together; with repetitions, both are their means.")
	}
	if hasMismatch(s) {
		notes = append(notes, mismatchFootnote(s))
	}
	if hasSamples(s) {
		n := "With repetitions (--repeat): output tok/s is the mean of the repetitions ± half its 95% Student's t interval as a share of the mean"
		if hasWelch(s) {
			n += "; a speedup is the ratio of the mean throughputs [its 95% interval, Fieller's, unbounded when bf16's mean is too uncertain]"
			if slices.ContainsFunc(s.Rows, func(e Entry) bool { return e.Speedup.Interval != nil && e.Speedup.Metric == MetricStepMakespan }) {
				n += " (of step makespans, bf16's mean over the row's, unbounded when the row's is too uncertain)"
			}
			n += " with the p-value of Welch's t-test" + significance()
		}
		notes = append(notes, n+".")
	}
	if hasPaired(s) {
		notes = append(notes, "paired (--paired): bf16 and the model's other configurations loaded side by side and measured in alternation, one pass each per round on the same prompts; "+
			"a paired speedup is the geometric mean of the rounds' ratios [its 95% Student's t interval on their logs] with the p-value of the paired t-test"+significance()+".")
	}
	if hasStop(s) {
		notes = append(notes, "--repeat auto: the intervals and p-values of rows it stopped are corrected for its looks (Bonferroni; over both rows' looks for an unpaired speedup), so that they still hold at 95%; their levels are in the CSV.")
	}
	if hasAA(s) {
		notes = append(notes, "bf16 (A/A) (--aa): bf16 measured again as if it were another configuration; its speedup's interval is its model's A/A band, the spread this machine shows when nothing changes. "+
			"A speedup whose interval overlaps that band is marked ~ whatever its p-value.")
	}
	_, lines := numberFootnotes(s)
	notes = append(notes, lines...)
	if len(s.Geomeans) > 0 {
		notes = append(notes, "geomean: the geometric mean of a quantization's speedups vs bf16 across the models that have one.")
	}
	if total {
		notes = append(notes, totalMark+" on total tok/s (prompt + output tokens) instead: one of the two files has no output tok/s (vllm bench throughput records none).")
	}
	if hasE2EL(s) {
		notes = append(notes, "E2EL: a request's end-to-end latency, from sending it to its last token, over the requests that completed (serve and online runs only). "+
			"E2EL speedup vs bf16: its model's bf16 mean E2EL / the row's mean E2EL, so above 1 (^) the row is faster than bf16, v slower, no mark when equal to 2 decimals.")
	}
	return notes
}

// mismatchFootnote says what the mismatch columns hold, against which
// references, and which rows they do not tell apart from bf16.
func mismatchFootnote(s Summary) string {
	var refs, flat []string
	for _, e := range s.Rows {
		if !scored(e) {
			continue
		}
		if r := cmp.Or(string(e.Mismatch.Reference), "?"); !slices.Contains(refs, r) {
			refs = append(refs, r)
		}
		if e.NotAboveFloor {
			flat = append(flat, e.Model+" "+e.Label())
		}
	}
	slices.Sort(refs)
	ref := strings.Join(refs, " or ")
	if len(refs) > 1 {
		ref += " per result: the CSV's mismatch_reference"
	}
	n := "k3 KL and probs diff max: the rollout against the BF16 reference (" + ref + "), verl's k3_kl and rollout_probs_diff_max over the scored pass's response tokens; " +
		"the bf16 row is the floor that exists without quantization; A/A rows are not scored"
	if len(flat) > 0 {
		n += ". Not above their model's floor in k3 KL or probs diff max: " + strings.Join(flat, ", ")
	}
	return n + "."
}

// numberFootnotes numbers the rows' footnotes in row order, a row's
// warnings first: refs are each row's references for its notes cell, lines
// the footnotes. Rows with the same footnote (the arms of a paired file)
// share its number.
func numberFootnotes(s Summary) (refs [][]string, lines []string) {
	number := map[Footnote]int{}
	refs = make([][]string, len(s.Rows))
	for i, e := range s.Rows {
		fs := slices.Clone(e.Footnotes)
		if e.footnoted() {
			fs = append([]Footnote{{Label: "warnings", Subject: e.Model + " " + e.Label(), Text: strings.Join(e.Warnings, "; ")}}, fs...)
		}
		for _, f := range fs {
			n, ok := number[f]
			if !ok {
				n = len(number) + 1
				number[f] = n
				lines = append(lines, fmt.Sprintf("[%d] %s: %s.", n, f.Subject, f.Text))
			}
			refs[i] = append(refs[i], fmt.Sprintf("%s [%d]", f.Label, n))
		}
	}
	return refs, lines
}

func hasWelch(s Summary) bool {
	return slices.ContainsFunc(s.Rows, func(e Entry) bool { return e.Speedup.Interval != nil })
}

func hasPaired(s Summary) bool {
	return slices.ContainsFunc(s.Rows, func(e Entry) bool { return e.Speedup.Paired != nil })
}

func hasStop(s Summary) bool {
	return slices.ContainsFunc(s.Rows, func(e Entry) bool { return e.Status == StatusOK && e.Stop != nil })
}

func hasAA(s Summary) bool {
	return slices.ContainsFunc(s.Rows, func(e Entry) bool { return e.AA })
}

// clean puts text on one line: control characters and runs of white space
// become one space.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// markdownEscape keeps text literal in a Markdown table cell or paragraph.
func markdownEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// markdownCode shows a file name as code, or escaped where it holds a
// backquote.
func markdownCode(s string) string {
	s = clean(s)
	if strings.Contains(s, "`") {
		return markdownEscape(s)
	}
	return "`" + s + "`"
}

// WriteFiles writes summary.txt, summary.csv and summary.md into dir, each
// atomically: a reader sees an old file or the whole new one.
func WriteFiles(dir string, s Summary) error {
	outputs := []struct {
		name   string
		report Reporter
	}{{"summary.txt", Text}, {"summary.csv", CSV}, {"summary.md", Markdown}}
	data := make([]bytes.Buffer, len(outputs))
	for i, o := range outputs {
		if err := o.report(&data[i], s); err != nil {
			return fmt.Errorf("render %s: %w", o.name, err)
		}
	}
	for i, o := range outputs {
		if err := writeAtomic(filepath.Join(dir, o.name), data[i].Bytes()); err != nil {
			return fmt.Errorf("write %s: %w", o.name, err)
		}
	}
	return nil
}

// writeAtomic writes a temporary file beside path (its name starts with
// ".", so Load passes over it) and renames it into place.
func writeAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
