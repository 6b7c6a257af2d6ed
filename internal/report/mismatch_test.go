package report

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/result"
)

// TestMismatchRows checks what each row of the mismatch fixtures carries:
// the figures read from offline results and from paired arms, NaN and +Inf
// as they were written, none on an A/A row's table cells, and which rows
// are not above their model's floor.
func TestMismatchRows(t *testing.T) {
	s := summarize(t, "mismatch", nil)
	if len(s.Problems) > 0 {
		t.Fatalf("problems = %q; the score and samples files are not experiments", s.Problems)
	}
	for _, tc := range []struct {
		model, label  string
		ref           result.ReferenceKind
		k3, probs     float64 // NaN: not a number in the file
		notAbove      bool
		k3Cell, pCell string
	}{
		{"small", "bf16", "vllm", 2e-6, 3e-5, false, "2.0e-06", "3.0e-05"},
		// The A/A arm was not scored.
		{"small", "bf16 (A/A)", "", 0, 0, false, "N/A", "N/A"},
		// k3 KL above the floor, probs diff max 2.5e-5 below its 3.0e-5.
		{"small", "w8a8", "vllm", 4e-6, 2.5e-5, true, "4.0e-06", "2.5e-05"},
		{"tiny", "bf16", "hf", 1.1e-6, 6.6e-6, false, "1.1e-06", "6.6e-06"},
		// Scored, but the A/A row is not shown: bf16 against the same
		// reference as the baseline.
		{"tiny", "bf16 (A/A)", "hf", 1e-6, 6.1e-6, false, "N/A", "N/A"},
		{"tiny", "w8a16", "hf", math.Inf(1), 0.91, false, "inf", "9.1e-01"},
		// The figures: 8.3e-6 and 1.3e-5 against the floor's
		// 1.1e-6 and 6.6e-6.
		{"tiny", "w8a8", "hf", 8.3e-6, 1.3e-5, false, "8.3e-06", "1.3e-05"},
	} {
		t.Run(tc.model+" "+tc.label, func(t *testing.T) {
			var e *Entry
			for i := range s.Rows {
				if s.Rows[i].Model == tc.model && s.Rows[i].Label() == tc.label {
					e = &s.Rows[i]
				}
			}
			if e == nil {
				t.Fatal("no such row")
			}
			if tc.ref == "" {
				if e.Mismatch != nil {
					t.Errorf("mismatch = %+v, want none", e.Mismatch)
				}
			} else if m := e.Mismatch; m == nil || m.Reference != tc.ref || m.K3KL.Value != tc.k3 || m.ProbsDiffMax.Value != tc.probs {
				t.Errorf("mismatch = %+v, want %s k3 %g probs %g", m, tc.ref, tc.k3, tc.probs)
			}
			if e.NotAboveFloor != tc.notAbove {
				t.Errorf("not above floor = %v, want %v", e.NotAboveFloor, tc.notAbove)
			}
			k3, probs := "N/A", "N/A"
			if scored(*e) {
				k3, probs = sci(e.Mismatch.K3KL.Value), sci(e.Mismatch.ProbsDiffMax.Value)
			}
			if k3 != tc.k3Cell || probs != tc.pCell {
				t.Errorf("cells = %q %q, want %q %q", k3, probs, tc.k3Cell, tc.pCell)
			}
		})
	}
	// NaN as the file wrote it.
	for _, e := range s.Rows {
		if e.Model == "tiny" && e.Quant == "w8a16" && !math.IsNaN(e.Mismatch.ProbsPearson.Value) {
			t.Errorf("tiny w8a16 pearson = %v, want NaN", e.Mismatch.ProbsPearson.Value)
		}
	}
	// A summary with figures that are not finite still encodes.
	if _, err := json.Marshal(s); err != nil {
		t.Errorf("json.Marshal(summary) = %v", err)
	}
}

func TestSci(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{8.3e-6, "8.3e-06"}, {1.26e-5, "1.3e-05"}, {0, "0.0e+00"}, {0.91, "9.1e-01"},
		{math.NaN(), "N/A"}, {math.Inf(1), "inf"}, {math.Inf(-1), "-inf"},
	} {
		if got := sci(tc.v); got != tc.want {
			t.Errorf("sci(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestMismatchLoad reads the mismatch block of one offline result: its
// figures, a scoring that failed (a note, no figures), none at all.
func TestMismatchLoad(t *testing.T) {
	const head = `{"schema": "rollbench.offline/1", "name": "q_w8a8", "status": "ok",
  "spec": {"rollout": {"num_prompts": 4, "n": 2}, "engine": {"model": "/m/q-w8a8", "quant": "w8a8"}},
  "throughput": {"output_tokens_per_second": 10}`
	for _, tc := range []struct {
		name, block string
		k3          string // sci of k3_kl, "" for no figures
		note        string
	}{
		{"none", ``, "", ""},
		{"figures", `, "mismatch": {"reference": {"kind": "hf"}, "metrics": {"k3_kl": {"value": 8.3e-6, "count": 8, "over": "tokens"}}}`, "8.3e-06", ""},
		{"nan", `, "mismatch": {"reference": {"kind": "vllm"}, "metrics": {"k3_kl": {"value": "NaN", "count": 1, "over": "tokens"}}}`, "N/A", ""},
		{"inf", `, "mismatch": {"reference": {"kind": "hf"}, "metrics": {"k3_kl": {"value": "+Inf", "count": 8, "over": "tokens"}}}`, "inf", ""},
		{"failed", `, "mismatch": {"reference": {"kind": "hf"}, "error": "reference load: out of memory"}`, "", "mismatch: reference load: out of memory"},
		{"no metrics", `, "mismatch": {"reference": {"kind": "hf"}}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := loadFile("q_w8a8.json", []byte(head+tc.block+"}"))
			if err != nil {
				t.Fatal(err)
			}
			s := Build(rows, nil, nil)
			e := s.Rows[0]
			got := ""
			if e.Mismatch != nil {
				got = sci(e.Mismatch.K3KL.Value)
			}
			if got != tc.k3 {
				t.Errorf("k3 KL = %q, want %q", got, tc.k3)
			}
			if note := strings.Join(e.Notes, "; "); !strings.Contains(note, tc.note) || tc.note == "" && strings.Contains(note, "mismatch") {
				t.Errorf("notes = %q, want %q", e.Notes, tc.note)
			}
			var txt bytes.Buffer
			if err := Text(&txt, s); err != nil {
				t.Fatal(err)
			}
			// The columns only where a row has figures.
			if has := strings.Contains(txt.String(), "k3 KL"); has != (tc.k3 != "") {
				t.Errorf("k3 KL column shown = %v, want %v:\n%s", has, tc.k3 != "", txt.String())
			}
		})
	}
}

// TestLoadPassesOverScores checks that a score and a samples file beside
// the results are neither rows nor problems.
func TestLoadPassesOverScores(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"q_w8a8.json":              `{"schema": "rollbench.offline/1", "name": "q_w8a8", "status": "ok", "spec": {"engine": {"quant": "w8a8"}}}`,
		"q_w8a8" + result.ScoreExt: `{"schema": "rollbench.score/1", "name": "q_w8a8", "status": "ok"}`,
		"q_w8a8.samples.jsonl.gz":  "\x1f\x8b",
		// score --output vllmref.json
		"vllmref.json": `{"schema": "rollbench.score/1", "name": "q_w8a8", "status": "failed"}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rows, problems, err := Load(dir)
	if err != nil || len(rows) != 1 || len(problems) != 0 {
		t.Errorf("Load = %d rows, %q, %v; want the result alone", len(rows), problems, err)
	}
}
