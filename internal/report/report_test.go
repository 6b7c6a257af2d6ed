package report

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenCases are the folders under testdata, each summarized into
// summary.{txt,csv,md}.golden beside its inputs.
// want is what each row must show, checked against the summary itself so
// that -update cannot accept wrong numbers.
var goldenCases = []struct {
	name     string
	expected []Key
	want     []line
}{
	{"mixed", nil, []line{
		// 32 prompts x n=8 x 256 tokens = 65536 output tokens in 32.768 s.
		{"llama-3.2-1b", "bf16", "ok", "2000.0", "(baseline)"},
		{"llama-3.2-1b", "w8a16", "skipped", "N/A", "N/A"},
		// 81920 total tokens in 40.96 s and 52.4288 s: 2000 and 1562.5 tok/s.
		{"oldmodel", "bf16", "ok", "N/A", "(baseline)"},
		{"oldmodel", "w8a8", "ok", "N/A", "0.78x v ¹"},
		// 65536 output tokens in 65.536 s and 52.4288 s: 1000 and 1250 tok/s.
		{"qwen3-1.7b", "bf16", "ok", "1000.0", "(baseline)"},
		{"qwen3-1.7b", "w8a16", "failed", "N/A", "N/A"},
		{"qwen3-1.7b", "w8a8", "ok", "1250.0", "1.25x ^"},
		// 8192 output tokens in 20.48 s.
		{"srv", "bf16", "ok", "400.0", "(baseline)"},
	}},
	{"matrix", matrix([]string{"m-b", "m-a"}, Quantizations...), []line{
		{"m-b", "bf16", "failed", "N/A", "N/A"},
		{"m-b", "w8a16", "missing", "N/A", "N/A"},
		{"m-b", "w8a8", "ok", "900.0", "N/A (no bf16 baseline)"},
		{"m-a", "bf16", "ok", "1000.0", "(baseline)"},
		// 1004 / 1000 = 1.004: equal to 2 decimals.
		{"m-a", "w8a16", "ok", "1004.0", "1.00x"},
		{"m-a", "w8a8", "missing", "N/A", "N/A"},
		{"extra", "bf16", "ok", "N/A", "(baseline)"},
		// 7680 of 23040 tokens in 20.945 s (1100 tok/s) against 81920 in 81.92 s.
		{"extra", "w8a8", "ok", "366.7", "1.10x ^ ¹"},
	}},
	{"online", nil, []line{
		// Offline: 65536 output tokens in 32.768 s. Serve: 8192 in 4 s,
		// 2048 / 2000 = 1.024.
		{"llama-3.2-1b", "bf16", "ok", "2000.0", "(baseline)"},
		{"llama-3.2-1b", "w8a8", "ok", "2048.0", "1.02x ^"},
		// 16 prompts x n=4 x 128 = 8192 output tokens in 81.92 s and
		// 65.536 s: 100 and 125 tok/s.
		{"qwen3-1.7b", "bf16", "ok", "100.0", "(baseline)"},
		{"qwen3-1.7b", "w8a16", "failed", "N/A", "N/A"},
		{"qwen3-1.7b", "w8a8", "ok", "125.0", "1.25x ^"},
	}},
	{"repeated", nil, []line{
		// 100, 102, 98 and 120, 121, 119 output tok/s: ratio 1.2, Welch
		// t = 15.49 at 2.94 df, p = 0.00065; Fieller's interval, the
		// roots of (100^2 - t^2 4/3) rho^2 - 2 (120)(100) rho +
		// (120^2 - t^2 1/3) with t = 3.2148: 1.1533 and 1.2500.
		{"tiny-a", "bf16", "ok", "100.0", "(baseline)"},
		{"tiny-a", "w8a8", "ok", "120.0", "1.20x ^ [1.15, 1.25] p=<0.001"},
		// 50, 60, 40 and 52, 62, 44: ratio 1.0533, p = 0.749, Fieller's
		// interval 0.6881 to 1.6621.
		{"tiny-b", "bf16", "ok", "50.0", "(baseline)"},
		{"tiny-b", "w8a8", "ok", "52.7", "1.05x ~ [0.69, 1.66] p=0.749"},
	}},
	{"paired", nil, []line{
		{"big", "bf16", "failed", "N/A", "N/A"},
		{"big", "bf16 (A/A)", "failed", "N/A", "N/A"},
		{"big", "w8a8", "failed", "N/A", "N/A"},
		{"small", "bf16", "ok", "3203.8", "(baseline)"},
		{"small", "bf16 (A/A)", "ok", "3203.8", "1.00x ~ [0.98, 1.02] p=1.000 paired"},
		// Significant on its own (p < 0.001) but overlapping the A/A band.
		{"small", "w8a8", "ok", "3285.0", "1.03x ~ [1.02, 1.03] p=<0.001 paired"},
		{"tiny", "bf16", "ok", "7225.0", "(baseline)"},
		{"tiny", "bf16 (A/A)", "ok", "7225.8", "1.00x ~ [0.98, 1.02] p=0.886 paired"},
		{"tiny", "w8a8", "ok", "8996.0", "1.24x ^ [1.22, 1.27] p=<0.001 paired"},
	}},
	{"aa", nil, []line{
		// Welch and Fieller over 8 and 8 passes at 4 x 4 looks.
		{"tiny", "bf16", "ok", "7145.0", "(baseline)"},
		{"tiny", "bf16 (A/A)", "ok", "7107.5", "0.99x ~ [0.94, 1.05] p=1.000"},
		// p = 0.036 after the correction, but within the A/A band.
		{"tiny", "w8a8", "ok", "7877.5", "1.10x ~ [1.00, 1.20] p=0.036"},
	}},
	{"mismatch", nil, []line{
		{"small", "bf16", "ok", "3203.8", "(baseline)"},
		{"small", "bf16 (A/A)", "ok", "3203.8", "1.00x ~ [0.98, 1.02] p=1.000 paired"},
		{"small", "w8a8", "ok", "3285.0", "1.03x ~ [1.02, 1.03] p=<0.001 paired"},
		{"tiny", "bf16", "ok", "7145.0", "(baseline)"},
		{"tiny", "bf16 (A/A)", "ok", "7107.5", "0.99x ~ [0.94, 1.05] p=1.000"},
		{"tiny", "w8a16", "ok", "7877.5", "1.10x ~ [1.00, 1.20] p=0.036"},
		{"tiny", "w8a8", "ok", "7877.5", "1.10x ~ [1.00, 1.20] p=0.036"},
	}},
	{"replicas", nil, []line{
		// Step makespans 4.0, 4.2, 3.8 s and 3.0, 3.1, 2.9 s: ratio 4 / 3
		// = 1.333, Welch t = 7.746 at 2.94 df, p = 0.005; Fieller's
		// interval, the roots of (3^2 - t^2 0.01/3) rho^2 - 2 (4)(3) rho +
		// (4^2 - t^2 0.04/3) with t = 3.2148: 1.1893 and 1.4876.
		{"rep", "bf16", "ok", "32.1", "(baseline)"},
		{"rep", "w8a16", "failed", "N/A", "N/A"},
		{"rep", "w8a8", "ok", "42.7", "1.33x ^ [1.19, 1.49] p=0.005"},
		// 128 output tokens in 6.4 s on one engine and 3.2 s on two
		// replicas: 20 and 40 tok/s.
		{"solo", "bf16", "ok", "20.0", "(baseline)"},
		{"solo", "w8a8", "ok", "40.0", "2.00x ^"},
		// Step makespans 3.9898 and 3.2 s: 1.247, where output tok/s
		// (128 and 120 tokens) would give 1.169.
		{"tiny", "bf16", "ok", "32.1", "(baseline)"},
		{"tiny", "w8a8", "ok", "37.5", "1.25x ^"},
	}},
	{"empty", nil, nil},
}

func matrix(models []string, quants ...string) []Key {
	var keys []Key
	for _, m := range models {
		for _, q := range quants {
			keys = append(keys, Key{m, q})
		}
	}
	return keys
}

var reporters = []struct {
	ext    string
	report Reporter
}{{"txt", Text}, {"csv", CSV}, {"md", Markdown}}

func summarize(t *testing.T, name string, expected []Key) Summary {
	t.Helper()
	rows, problems, err := Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Build(rows, problems, expected)
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		s := summarize(t, tc.name, tc.expected)
		checkLines(t, tc.name, s, tc.want)
		for _, r := range reporters {
			t.Run(tc.name+"/"+r.ext, func(t *testing.T) {
				var got bytes.Buffer
				if err := r.report(&got, s); err != nil {
					t.Fatal(err)
				}
				golden.Check(t, filepath.Join("testdata", tc.name, "summary."+r.ext+".golden"), got.Bytes(), *update)
			})
		}
	}
}

// line is one row as the table shows it, in short.
type line struct {
	model, quant, status string
	output               string // output tok/s as the table prints it
	speedup              string
}

func TestMixedValues(t *testing.T) {
	s := summarize(t, "mixed", nil)
	if len(s.Rows) != 8 {
		t.Fatalf("%d rows, want 8", len(s.Rows))
	}
	w8a8 := s.Rows[6]
	if w8a8.Speedup.Metric != MetricOutput || math.Abs(*w8a8.Speedup.Ratio-1.25) > 1e-12 {
		t.Errorf("qwen3 w8a8 speedup = %v on %s, want 1.25 on output", *w8a8.Speedup.Ratio, w8a8.Speedup.Metric)
	}
	if got := *w8a8.RequestsPerSecond; math.Abs(got-32/52.4288) > 1e-12 {
		t.Errorf("qwen3 w8a8 req/s = %v", got)
	}
	old := s.Rows[3]
	if old.Speedup.Metric != MetricTotal || math.Abs(*old.Speedup.Ratio-0.78125) > 1e-12 {
		t.Errorf("oldmodel w8a8 speedup = %v on %s, want 0.78125 on total", *old.Speedup.Ratio, old.Speedup.Metric)
	}
	if old.SequencesPerSecond != nil || old.OutputTokensPerSecond != nil {
		t.Error("a vllm bench throughput file knows neither seq/s nor output tok/s")
	}
	if r := s.Rows[5]; r.Reason != "RuntimeError: CUDA out of memory.\nTried to allocate 2.00 GiB" || r.ElapsedSeconds != nil {
		t.Errorf("failed row = %+v", r.Row)
	}
	srv := s.Rows[7]
	if srv.Format != FormatVLLMServe || *srv.MeanE2ELms != 10240.5 || *srv.P99E2ELms != 20112.25 || *srv.ElapsedSeconds != 20.48 {
		t.Errorf("serve row = %+v", srv.Row)
	}

	wantProblems := []Problem{
		{filepath.Join("testdata", "mixed", "broken_bf16.json"), "invalid JSON: unexpected end of JSON input"},
		{filepath.Join("testdata", "mixed", "notes.json"), "vllm-bench-throughput result, but the name is not <model>_<quant>.json"},
	}
	if !reflect.DeepEqual(s.Problems, wantProblems) {
		t.Errorf("problems = %q,\nwant %q", s.Problems, wantProblems)
	}
}

func TestMatrixValues(t *testing.T) {
	s := summarize(t, "matrix", goldenCases[1].expected)
	if len(s.Rows) != 8 {
		t.Fatalf("%d rows, want 8", len(s.Rows))
	}
	if r := s.Rows[1]; r.Reason != "no result file" || r.Source != "" {
		t.Errorf("missing row = %+v", r.Row)
	}
	wantNotes := map[int][]string{
		4: {"workload differs from bf16: 16 prompts x n=8 vs 32 prompts x n=8"},
		7: {"2 requests failed", "bf16 baseline from a vllm-bench-throughput file"},
	}
	for i, want := range wantNotes {
		if got := s.Rows[i].Notes; !reflect.DeepEqual(got, want) {
			t.Errorf("row %d notes = %q, want %q", i, got, want)
		}
	}
}

func TestOnlineValues(t *testing.T) {
	s := summarize(t, "online", nil)
	if len(s.Rows) != 5 {
		t.Fatalf("%d rows, want 5", len(s.Rows))
	}
	near := func(what string, got *float64, want float64) {
		t.Helper()
		if got == nil || math.Abs(*got-want) > 1e-12 {
			t.Errorf("%s = %v, want %v", what, fmtPtr(got), want)
		}
	}
	qBF16, qW8A16, qW8A8 := s.Rows[2], s.Rows[3], s.Rows[4]
	if qW8A8.Format != FormatRollbenchOnline || qW8A8.Prompts != 16 || qW8A8.N != 4 {
		t.Errorf("qwen3 w8a8 row = %+v", qW8A8.Row)
	}
	near("qwen3 w8a8 elapsed", qW8A8.ElapsedSeconds, 65.536)
	near("qwen3 w8a8 req/s", qW8A8.RequestsPerSecond, 16/65.536)
	// 64 samples (16 prompts x n=4) completed in 65.536 s.
	near("qwen3 w8a8 seq/s", qW8A8.SequencesPerSecond, 64/65.536)
	near("qwen3 w8a8 total tok/s", qW8A8.TotalTokensPerSecond, (4096+8192)/65.536)
	near("qwen3 w8a8 p99 e2el", qW8A8.P99E2ELms, 1200)
	// bf16 mean E2EL 1000 ms, w8a8 800 ms: 1000 / 800 = 1.25, faster.
	near("qwen3 w8a8 e2el speedup", qW8A8.E2ELSpeedup.Ratio, 1.25)
	if got := speedupCell(qW8A8.E2ELSpeedup); got != "1.25x ^" || qW8A8.E2ELSpeedup.Metric != MetricMeanE2EL {
		t.Errorf("qwen3 w8a8 e2el speedup = %q on %s", got, qW8A8.E2ELSpeedup.Metric)
	}
	if !qBF16.E2ELSpeedup.Baseline {
		t.Errorf("qwen3 bf16 e2el speedup = %+v, want the baseline", qBF16.E2ELSpeedup)
	}
	// The failed run measured something before it failed; none of it shows.
	if r := qW8A16.Row; r.Reason != "3 of 16 requests failed (per-request errors in the result)" ||
		r.OutputTokensPerSecond != nil || r.MeanE2ELms != nil || r.SequencesPerSecond != nil {
		t.Errorf("failed online row = %+v", r)
	}
	lBF16, lW8A8 := s.Rows[0], s.Rows[1]
	if got := speedupCell(lW8A8.E2ELSpeedup); got != "N/A (bf16 has no E2EL)" {
		t.Errorf("llama w8a8 e2el speedup = %q", got)
	}
	if got := speedupCell(lBF16.E2ELSpeedup); got != "N/A" {
		t.Errorf("llama bf16 (offline) e2el speedup = %q", got)
	}
	if want := []string{"bf16 baseline from a rollbench file"}; !reflect.DeepEqual(lW8A8.Notes, want) {
		t.Errorf("llama w8a8 notes = %q, want %q", lW8A8.Notes, want)
	}
}

func fmtPtr(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

// TestNoE2ELColumns checks that a summary without E2EL figures has the
// columns and footnotes of the reports before E2EL columns existed.
func TestNoE2ELColumns(t *testing.T) {
	s := summarize(t, "matrix", goldenCases[1].expected)
	for i := range s.Rows {
		s.Rows[i].MeanE2ELms, s.Rows[i].P99E2ELms = nil, nil
	}
	wantHeader := map[string]string{
		"txt": "model  quant  status   output tok/s  elapsed s  req/s  seq/s  speedup vs bf16         notes",
		"csv": `model,quant,status,format,source,output_tok_s,total_tok_s,elapsed_s,req_s,seq_s,mean_e2el_ms,p99_e2el_ms,speedup_vs_bf16,speedup_metric,speedup_direction,` +
			`mismatch_reference,mismatch_tokens,k3_kl,kl,rollout_probs_diff_max,rollout_probs_diff_mean,rollout_actor_probs_pearson_corr,chi2_token,chi2_seq,log_ppl_abs_diff,ppl_ratio,rollout_is_eff_sample_size,data_parallel_size,step_makespan_s,imbalance,notes`,
		"md": "| model | quant | status  | output tok/s | elapsed s | req/s | seq/s | speedup vs bf16        | notes",
	}
	for _, r := range reporters {
		var b bytes.Buffer
		if err := r.report(&b, s); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !strings.HasPrefix(out, wantHeader[r.ext]) || strings.Contains(strings.ToLower(out), "e2el ") {
			t.Errorf("%s report without E2EL figures:\n%s", r.ext, out)
		}
	}
}

func checkLines(t *testing.T, name string, s Summary, want []line) {
	t.Helper()
	if len(s.Rows) != len(want) {
		for _, e := range s.Rows {
			t.Logf("%s %s %s", e.Model, e.Quant, e.Status)
		}
		t.Fatalf("%s: %d rows, want %d", name, len(s.Rows), len(want))
	}
	for i, e := range s.Rows {
		ok := e.Status == StatusOK
		got := line{e.Model, e.Label(), e.Status, fixed(e.OutputTokensPerSecond, 1, ok), speedupCell(e.Speedup)}
		if got != want[i] {
			t.Errorf("%s row %d = %+v, want %+v", name, i, got, want[i])
		}
	}
}

func TestWriteFiles(t *testing.T) {
	s := summarize(t, "mixed", nil)
	dir := t.TempDir()
	if err := WriteFiles(dir, s); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"summary.csv", "summary.md", "summary.txt"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("files = %q, want %q (no temporary file left)", names, want)
	}
	for _, r := range reporters {
		got, err := os.ReadFile(filepath.Join(dir, "summary."+r.ext))
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		r.report(&want, s)
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("summary.%s differs from the %s report", r.ext, r.ext)
		}
	}
	// A summary written into the folder it summarizes is not read back.
	rows, problems, err := Load(dir)
	if err != nil || len(rows) != 0 || len(problems) != 0 {
		t.Errorf("Load(summaries) = %d rows, %q, %v; want nothing", len(rows), problems, err)
	}
	if err := WriteFiles(filepath.Join(dir, "absent"), s); err == nil || !strings.Contains(err.Error(), "summary.txt") {
		t.Errorf("WriteFiles into a missing folder: err = %v", err)
	}
}

func TestLoadMissingFolder(t *testing.T) {
	if _, _, err := Load(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("Load of a missing folder gave no error")
	}
}
