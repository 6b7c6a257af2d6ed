package report

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		name, model, quant, err string
	}{
		{"qwen3-1.7b_bf16.json", "qwen3-1.7b", "bf16", ""},
		{"Qwen3_1.7B_W8A8.json", "Qwen3_1.7B", "w8a8", ""},
		{"a_b_w8a16.json", "a_b", "w8a16", ""},
		{"notes.json", "", "", "the name is not <model>_<quant>.json"},
		{"qwen3_fp8.json", "", "", `the quant "fp8" in the name is not bf16, w8a16 or w8a8`},
		{"qwen3_bf16_old.json", "", "", `the quant "old" in the name is not bf16, w8a16 or w8a8`},
		{"qwen3_.json", "", "", `the quant "" in the name is not bf16, w8a16 or w8a8`},
		{"_bf16.json", "", "", `the name has no model before "_bf16"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model, quant, err := parseName(tc.name)
			if got := errText(err); got != tc.err || model != tc.model || quant != tc.quant {
				t.Errorf("parseName = %q, %q, %q; want %q, %q, %q", model, quant, got, tc.model, tc.quant, tc.err)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

const okRollbench = `{"schema": "rollbench.offline/1", "name": "q_w8a8", "status": "ok",
  "spec": {"rollout": {"num_prompts": 4, "n": 2}, "engine": {"model": "/m/q-w8a8", "quant": "W8A8"}},
  "throughput": {"output_tokens_per_second": 10, "total_tokens_per_second": 30, "requests_per_second": 0.5, "sequences_per_second": 1},
  "warnings": ["w"], "elapsed_time": 8}`

// okOnline has the keys of result.Online that a summary reads.
const okOnline = `{"schema": "rollbench.online/1", "name": "q_w8a8", "status": "ok",
  "spec": {"rollout": {"num_prompts": 4, "n": 2}, "engine": {"model": "/m/q-w8a8", "quant": "w8a8"}},
  "metrics": {"completed_samples": 16}, "warnings": ["w"],
  "duration": 4, "completed": 8, "failed": 0, "request_throughput": 1.75, "output_throughput": 50,
  "total_token_throughput": 150, "mean_e2el_ms": 900, "p99_e2el_ms": 1500}`

func TestLoadFile(t *testing.T) {
	for _, tc := range []struct {
		name, file, data string
		want             string // the row in short, or the error
	}{
		{"rollbench ok", "x.json", okRollbench,
			"q w8a8 ok rollbench x.json out=10 total=30 el=8 req=0.5 seq=1 4x2 [w]"},
		{"rollbench model_name wins", "x.json",
			`{"schema": "rollbench.offline/1", "name": "q_bf16", "model_name": "Qwen", "status": "failed", "error": "boom",
			  "spec": {"engine": {"quant": "bf16"}}, "elapsed_time": 0, "throughput": {"output_tokens_per_second": 0}}`,
			"Qwen bf16 failed rollbench x.json boom"},
		{"rollbench model from directory", "x.json",
			`{"schema": "rollbench.offline/1", "name": "run7", "status": "skipped", "spec": {"engine": {"model": "/m/Llama/", "quant": "w8a16"}}}`,
			"Llama w8a16 skipped rollbench x.json"},
		{"rollbench falls back to vllm keys", "x.json",
			`{"schema": "rollbench.offline/1", "name": "q_bf16", "status": "ok", "spec": {"engine": {"quant": "bf16"}},
			  "requests_per_second": 2, "tokens_per_second": 100}`,
			"q bf16 ok rollbench x.json total=100 req=2"},
		{"vllm throughput", "m_BF16.json",
			`{"model_id": "m", "elapsed_time": 2, "num_requests": 8, "total_num_tokens": 400, "requests_per_second": 4, "tokens_per_second": 200}`,
			"m bf16 ok vllm-bench-throughput m_BF16.json total=200 el=2 req=4 8x0"},
		{"vllm serve", "m_w8a16.json",
			`{"duration": 4, "completed": 7, "failed": 1, "request_throughput": 1.75, "output_throughput": 50, "total_token_throughput": 150, "mean_e2el_ms": 900, "p99_e2el_ms": 1500}`,
			"m w8a16 ok vllm-bench-serve m_w8a16.json out=50 total=150 el=4 req=1.75 e2el=900/1500 8x0 [1 requests failed]"},
		{"online ok", "x.json", okOnline,
			"q w8a8 ok rollbench-online x.json out=50 total=150 el=4 req=1.75 seq=4 e2el=900/1500 4x2 [w]"},
		{"online with failed requests", "x.json", strings.Replace(okOnline, `"failed": 0`, `"failed": 1`, 1),
			"q w8a8 ok rollbench-online x.json out=50 total=150 el=4 req=1.75 seq=4 e2el=900/1500 4x2 [w; 1 requests failed]"},
		{"online without samples or duration", "x.json",
			strings.NewReplacer(`"metrics": {"completed_samples": 16},`, "", `"duration": 4,`, "").Replace(okOnline),
			"q w8a8 ok rollbench-online x.json out=50 total=150 req=1.75 e2el=900/1500 4x2 [w]"},
		{"online with zero duration", "x.json", strings.Replace(okOnline, `"duration": 4`, `"duration": 0`, 1),
			"q w8a8 ok rollbench-online x.json out=50 total=150 el=0 req=1.75 e2el=900/1500 4x2 [w]"},
		{"online failed with figures", "x.json",
			strings.NewReplacer(`"status": "ok"`, `"status": "failed", "error": "3 of 8 requests failed"`, `"failed": 0`, `"failed": 3`).Replace(okOnline),
			"q w8a8 failed rollbench-online x.json 3 of 8 requests failed 4x2 [w]"},
		{"online skipped", "x.json",
			`{"schema": "rollbench.online/1", "name": "q_w8a16", "status": "skipped", "error": "no w8a16 here", "spec": {"engine": {"quant": "w8a16"}}}`,
			"q w8a16 skipped rollbench-online x.json no w8a16 here"},
		{"vllm serve all failed", "m_w8a8.json",
			`{"duration": 4, "completed": 0, "failed": 8, "output_throughput": 0}`,
			"m w8a8 failed vllm-bench-serve m_w8a8.json no request completed (8 failed) 8x0"},

		{"truncated", "a_bf16.json", `{"schema": "rollb`, "invalid JSON: unexpected end of JSON input"},
		{"empty", "a_bf16.json", ``, "invalid JSON: unexpected end of JSON input"},
		{"not JSON", "a_bf16.json", `NaN`, "invalid JSON: invalid character 'N' looking for beginning of value"},
		{"array", "a_bf16.json", `[{"elapsed_time": 1}]`, "not a JSON object but array"},
		{"null", "a_bf16.json", `null`, "not a JSON object but null"},
		{"unknown keys", "a_bf16.json", `{"latency": 3}`,
			"not a rollbench or vllm bench result: no schema, duration or elapsed_time and tokens_per_second key"},
		{"other schema", "a_bf16.json", `{"schema": "rollbench.offline/2"}`,
			`unknown schema "rollbench.offline/2" (this report reads rollbench.offline/1, rollbench.online/1 and rollbench.paired/1)`},
		{"schema not a string", "a_bf16.json", `{"schema": 1}`, "schema is not a string but 1"},
		{"rollbench bad quant", "a_bf16.json", strings.Replace(okRollbench, "W8A8", "fp8", 1),
			`spec.engine.quant "fp8" is not bf16, w8a16 or w8a8`},
		{"rollbench bad status", "a_bf16.json", strings.Replace(okRollbench, `"ok"`, `"running"`, 1),
			`status "running" is not ok, failed or skipped`},
		{"rollbench wrong type", "a_bf16.json", strings.Replace(okRollbench, `"elapsed_time": 8`, `"elapsed_time": "8"`, 1),
			"not a rollbench.offline/1 result: json: cannot unmarshal string into Go struct field rollbenchFile.elapsed_time of type float64"},
		{"online wrong type", "a_bf16.json", strings.Replace(okOnline, `"duration": 4`, `"duration": "4"`, 1),
			"not a rollbench.online/1 result: json: cannot unmarshal string into Go struct field rollbenchFile.serveFile.duration of type float64"},
		{"rollbench nameless", "a_bf16.json", `{"schema": "rollbench.offline/1", "status": "ok", "spec": {"engine": {"quant": "bf16"}}}`,
			"no model_name, name or spec.engine.model to name the model by"},
		{"vllm badly named", "notes.json", `{"elapsed_time": 2, "tokens_per_second": 200}`,
			"vllm-bench-throughput result, but the name is not <model>_<quant>.json"},
		{"vllm bad quant", "m_int4.json", `{"duration": 2}`,
			`vllm-bench-serve result, but the quant "int4" in the name is not bf16, w8a16 or w8a8`},
		{"serve wrong type", "m_bf16.json", `{"duration": "2"}`,
			"not a vllm bench serve result: json: cannot unmarshal string into Go struct field serveFile.duration of type float64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := loadFile(tc.file, []byte(tc.data))
			got := errText(err)
			if err == nil {
				if len(rows) != 1 {
					t.Fatalf("%d rows, want 1", len(rows))
				}
				got = short(rows[0])
			}
			if got != tc.want {
				t.Errorf("loadFile =\n  %s\nwant\n  %s", got, tc.want)
			}
		})
	}
}

// short writes the fields of a row that are set, for comparing in a line.
func short(r Row) string {
	parts := []string{r.Model, r.Quant, r.Status, r.Format, r.Source}
	if r.Reason != "" {
		parts = append(parts, r.Reason)
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"out", r.OutputTokensPerSecond}, {"total", r.TotalTokensPerSecond}, {"el", r.ElapsedSeconds},
		{"req", r.RequestsPerSecond}, {"seq", r.SequencesPerSecond}} {
		if f.v != nil {
			parts = append(parts, f.name+"="+fixedShort(*f.v))
		}
	}
	if r.MeanE2ELms != nil || r.P99E2ELms != nil {
		parts = append(parts, "e2el="+fixedShort(*r.MeanE2ELms)+"/"+fixedShort(*r.P99E2ELms))
	}
	if r.Prompts != 0 || r.N != 0 {
		parts = append(parts, fixedShort(float64(r.Prompts))+"x"+fixedShort(float64(r.N)))
	}
	if len(r.Warnings) > 0 {
		parts = append(parts, "["+strings.Join(r.Warnings, "; ")+"]")
	}
	return strings.Join(parts, " ")
}

func fixedShort(v float64) string {
	return strings.TrimRight(strings.TrimRight(fixed(&v, 6, true), "0"), ".")
}

// TestLoadFolder checks which names Load reads and passes over.
func TestLoadFolder(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"m_bf16.json":          `{"elapsed_time": 2, "tokens_per_second": 200}`,
		".m_w8a8.json":         `{"elapsed_time": 2`,
		"summary.json":         `nonsense`,
		"m_w8a8.json.tmp":      `nonsense`,
		"notes.txt":            `nonsense`,
		"dir.json/m_w8a8.json": `{"elapsed_time": 2, "tokens_per_second": 200}`,
	} {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("absent", filepath.Join(dir, "dangling_w8a8.json")); err != nil {
		t.Fatal(err)
	}
	rows, problems, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Problem{{filepath.Join(dir, "dangling_w8a8.json"), "cannot read: no such file or directory"}}
	if !slices.Equal(problems, want) {
		t.Errorf("problems = %q, want %q", problems, want)
	}
	var sources []string
	for _, r := range rows {
		sources = append(sources, r.Source)
	}
	if !slices.Equal(sources, []string{"m_bf16.json"}) {
		t.Errorf("read %q, want only m_bf16.json", sources)
	}
}

func FuzzLoadFile(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Base(path), data)
	}
	f.Add("m_bf16.json", []byte(okRollbench))
	f.Add("m_w8a8.json", []byte(okOnline))
	f.Add("m_w8a8.json", []byte(`{"duration": 1, "completed": 0}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		rows, err := loadFile(name, data)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error")
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("no rows and no error")
		}
		for _, row := range rows {
			checkFuzzRow(t, name, row)
		}
		// Whatever was read must summarize and print.
		s := Build(rows, nil, []Key{{rows[0].Model, "bf16"}})
		for _, r := range reporters {
			if err := r.report(io.Discard, s); err != nil {
				t.Errorf("%s report: %v", r.ext, err)
			}
		}
	})
}

func checkFuzzRow(t *testing.T, name string, row Row) {
	t.Helper()
	{
		if row.Model == "" || !knownQuant(row.Quant) || row.Source != name {
			t.Errorf("row without model, known quant or source: %+v", row)
		}
		switch row.Status {
		case StatusOK, StatusFailed, StatusSkipped:
		default:
			t.Errorf("status %q", row.Status)
		}
		switch row.Format {
		case FormatRollbench, FormatRollbenchOnline, FormatVLLMThroughput, FormatVLLMServe:
		default:
			t.Errorf("format %q", row.Format)
		}
	}
}

// TestLoadPrefersComplete checks that of a run's NAME.json and
// NAME.failed.json one row is summarized: the complete one.
func TestLoadPrefersComplete(t *testing.T) {
	const (
		ok         = `{"schema": "rollbench.offline/1", "name": "m_bf16", "status": "ok", "spec": {"engine": {"quant": "bf16"}}, "throughput": {"output_tokens_per_second": 10}}`
		failed     = `{"schema": "rollbench.offline/1", "name": "m_bf16", "status": "failed", "error": "interrupted by SIGINT", "spec": {"engine": {"quant": "bf16"}}}`
		okW8A8     = `{"schema": "rollbench.offline/1", "name": "m_w8a8", "status": "ok", "spec": {"engine": {"quant": "w8a8"}}}`
		failedW8A8 = `{"schema": "rollbench.offline/1", "name": "m_w8a8", "status": "failed", "spec": {"engine": {"quant": "w8a8"}}}`
		// A paired file is complete when every arm is.
		pairedOK     = `{"schema": "rollbench.paired/1", "name": "m_paired", "status": "ok", "arms": [` + ok + `, ` + okW8A8 + `]}`
		pairedFailed = `{"schema": "rollbench.paired/1", "name": "m_paired", "status": "failed", "arms": [` + ok + `, ` + failedW8A8 + `]}`
	)
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string // source and status of each row
		// problems counts the files not summarized.
		problems int
	}{
		{"complete beside failed", map[string]string{"m_bf16.json": ok, "m_bf16.failed.json": failed}, []string{"m_bf16.json ok"}, 0},
		{"failed alone", map[string]string{"m_bf16.failed.json": failed}, []string{"m_bf16.failed.json failed"}, 0},
		{"both failed: NAME.json, the newer", map[string]string{"m_bf16.json": failed, "m_bf16.failed.json": failed}, []string{"m_bf16.json failed"}, 0},
		{"complete only beside", map[string]string{"m_bf16.json": failed, "m_bf16.failed.json": ok}, []string{"m_bf16.failed.json ok"}, 0},
		{"unreadable beside failed", map[string]string{"m_bf16.json": "{", "m_bf16.failed.json": failed}, []string{"m_bf16.failed.json failed"}, 1},
		{"paired complete beside failed", map[string]string{"m_paired.json": pairedOK, "m_paired.failed.json": pairedFailed},
			[]string{"m_paired.json ok", "m_paired.json ok"}, 0},
		{"paired failed beside complete", map[string]string{"m_paired.json": pairedFailed, "m_paired.failed.json": pairedOK},
			[]string{"m_paired.failed.json ok", "m_paired.failed.json ok"}, 0},
		{"other runs untouched", map[string]string{"m_bf16.json": ok, "n_bf16.failed.json": strings.ReplaceAll(failed, "m_bf16", "n_bf16")},
			[]string{"m_bf16.json ok", "n_bf16.failed.json failed"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			rows, problems, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.Source+" "+r.Status)
			}
			if !slices.Equal(got, tc.want) || len(problems) != tc.problems {
				t.Errorf("rows %q, %d problems; want %q, %d", got, len(problems), tc.want, tc.problems)
			}
			// One row, so the summary notes no second result.
			for _, e := range Build(rows, problems, nil).Rows {
				for _, n := range e.Notes {
					if strings.Contains(n, "results for") {
						t.Errorf("note %q", n)
					}
				}
			}
		})
	}
}

// TestLoadPaired checks the rows a paired file gives, and the files that
// are not one.
func TestLoadPaired(t *testing.T) {
	arm := func(quant string, aa bool, status string) string {
		return `{"schema": "rollbench.offline/1", "name": "m_` + quant + `", "status": "` + status + `", "aa": ` + strconv.FormatBool(aa) +
			`, "spec": {"engine": {"quant": "` + quant + `"}}, "throughput": {"output_tokens_per_second": 10}}`
	}
	file := func(status string, arms ...string) string {
		return `{"schema": "rollbench.paired/1", "name": "m_paired", "status": "` + status + `", "error": "boom", "rounds": 1,
		  "order": [["bf16", "w8a8"]], "arms": [` + strings.Join(arms, ", ") + `]}`
	}
	for _, tc := range []struct {
		name, data string
		want       []string // each row in short, or the error
	}{
		{"ok", file("ok", arm("bf16", false, "ok"), arm("bf16", true, "ok"), arm("w8a8", false, "ok")), []string{
			"m bf16 ok rollbench m_paired.json out=10", "m bf16 (A/A) ok rollbench m_paired.json out=10", "m w8a8 ok rollbench m_paired.json out=10"}},
		{"failed arms take the file's error", file("failed", arm("bf16", false, "failed"), arm("w8a8", false, "failed")), []string{
			"m bf16 failed rollbench m_paired.json boom", "m w8a8 failed rollbench m_paired.json boom"}},
		{"failed before any arm", file("failed"), []string{"m bf16 failed rollbench m_paired.json boom"}},
		{"ok without arms", file("ok"), []string{"a paired result with status ok and no arms"}},
		{"bad status", file("running", arm("bf16", false, "ok")), []string{`status "running" is not ok or failed`}},
		{"baseline not first", file("ok", arm("w8a8", false, "ok"), arm("bf16", false, "ok")), []string{"the first arm is w8a8, not the bf16 baseline"}},
		{"A/A first", file("ok", arm("bf16", true, "ok")), []string{"the first arm is bf16 (A/A), not the bf16 baseline"}},
		{"arm of another schema", file("ok", `{"schema": "rollbench.online/1"}`), []string{"arm 1 is not a rollbench.offline/1 result"}},
		{"arm not an object", file("ok", `3`), []string{"arm 1 is not a rollbench.offline/1 result"}},
		{"bad arm", file("ok", arm("fp8", false, "ok")), []string{`arm 1: spec.engine.quant "fp8" is not bf16, w8a16 or w8a8`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := loadFile("m_paired.json", []byte(tc.data))
			var got []string
			if err != nil {
				got = []string{err.Error()}
			}
			for _, r := range rows {
				s := short(r)
				if r.AA {
					s = strings.Replace(s, "bf16", "bf16 (A/A)", 1)
				}
				got = append(got, s)
				if r.Status == StatusOK && (r.Paired == nil || r.Paired.Baseline != "bf16") {
					t.Errorf("row %s pairing %+v", s, r.Paired)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("rows\n  %q\nwant\n  %q", got, tc.want)
			}
		})
	}
}
