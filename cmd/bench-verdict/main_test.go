package main

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/cmd/internal/sidebyside"
	"github.com/rollbench/rollbench/internal/golden"
	"github.com/rollbench/rollbench/metrics"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testOptions() options {
	return options{runs: 2, config: "configs/tiny.yaml", numPrompts: 16, n: 4, inputLen: 128, outputLen: 64,
		kvCache: "256MiB", repeat: 5, targetCI: 0.4, maxRepeat: 20}
}

func TestProcedureArgs(t *testing.T) {
	workload := []string{"--num-prompts", "16", "-n", "4", "--input-len", "128", "--output-len", "64",
		"--enforce-eager", "--kv-cache-memory", "256MiB", "--output-dir", "O", "--log-dir", "L"}
	for _, tc := range []struct {
		proc string
		want []string
	}{
		{sequential, append([]string{"--config", "configs/tiny.yaml", "--quants", "bf16,w8a8", "--repeat", "5"}, workload...)},
		{paired, append([]string{"--config", "configs/tiny.yaml", "--quants", "bf16,w8a8", "--paired", "--repeat", "auto",
			"--target-ci", "0.4", "--max-repeat", "20"}, workload...)},
	} {
		if got := procedureArgs(testOptions(), tc.proc, "O", "L"); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.proc, got, tc.want)
		}
	}
}

// writeFiles writes name -> content into a fresh directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func offlineJSON(status string, rates ...string) string {
	reps := make([]string, len(rates))
	for i, r := range rates {
		reps[i] = `{"output_tokens_per_second": ` + r + `}`
	}
	return `{"schema": "rollbench.offline/1", "status": "` + status + `", "error": "boom", "repetitions": [` + strings.Join(reps, ", ") + `]}`
}

func TestReadSequential(t *testing.T) {
	bf16 := []float64{1000, 1100, 900, 1050, 950}
	w8a8 := []float64{1200, 1300, 1150, 1250, 1100}
	want, _ := metrics.Compare(w8a8, bf16)
	for _, tc := range []struct {
		name  string
		files map[string]string
		err   string
	}{
		{"ok", map[string]string{
			"tiny_bf16.json": offlineJSON("ok", "1000", "1100", "900", "1050", "950"),
			"tiny_w8a8.json": offlineJSON("ok", "1200", "1300", "1150", "1250", "1100")}, ""},
		{"no w8a8", map[string]string{"tiny_bf16.json": offlineJSON("ok", "1000", "1100")}, "tiny_w8a8.json: no such file"},
		{"failed", map[string]string{
			"tiny_bf16.json": offlineJSON("failed"),
			"tiny_w8a8.json": offlineJSON("ok", "1200", "1300")}, "status failed: boom"},
		{"one pass", map[string]string{
			"tiny_bf16.json": offlineJSON("ok", "1000"),
			"tiny_w8a8.json": offlineJSON("ok", "1200")}, "no comparison from 1 and 1 passes"},
		{"not json", map[string]string{"tiny_bf16.json": "{"}, "tiny_bf16.json: unexpected end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := readSequential(writeFiles(t, tc.files))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.W8A8.Ratio != want.Ratio || *s.W8A8.Low != *want.Low || *s.W8A8.High != *want.High || s.W8A8.P != want.P ||
				s.W8A8.Level != 0.95 || s.Passes != 5 || s.Looks != 1 || s.Stop != nil || s.AA != nil {
				t.Errorf("got %+v, want %+v", s, want)
			}
			if hw := (*want.High - *want.Low) / 2 / want.Ratio; *s.W8A8.HalfWidth != hw {
				t.Errorf("half width %g, want %g", *s.W8A8.HalfWidth, hw)
			}
		})
	}
}

const pairedOK = `{"schema": "rollbench.paired/1", "status": "ok", "rounds": 12,
  "comparisons": [
    {"arm": "w8a8", "baseline": "bf16", "ratio": 1.25, "ci_low": 1.0, "ci_high": 1.5, "level": 0.99, "p": 0.04, "significant": true, "looks": 6},
    {"arm": "bf16 (A/A)", "baseline": "bf16", "ratio": 1.02, "ci_low": 0.8, "ci_high": 1.3, "level": 0.99, "p": 0.9, "significant": false, "looks": 6}],
  "stop": {"target_ci": 0.4, "max_passes": 20, "passes": 12, "target_reached": true, "half_width": 0.2, "reason": "within"}}`

func TestReadPaired(t *testing.T) {
	for _, tc := range []struct {
		name, file, err string
	}{
		{"ok", pairedOK, ""},
		{"failed", strings.Replace(pairedOK, `"status": "ok"`, `"status": "failed", "error": "boom"`, 1), "status failed: boom"},
		{"no A/A", strings.Replace(pairedOK, `"arm": "bf16 (A/A)"`, `"arm": "other"`, 1), "no bf16 (A/A) row"},
		{"no w8a8", strings.Replace(pairedOK, `"arm": "w8a8"`, `"arm": "other"`, 1), "no w8a8 comparison"},
		{"fixed rounds", pairedOK[:strings.Index(pairedOK, `,
  "stop"`)] + "}", "no stop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := readPaired(writeFiles(t, map[string]string{"tiny_paired.json": tc.file}))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.W8A8.Ratio != 1.25 || *s.W8A8.Low != 1 || *s.W8A8.High != 1.5 || *s.W8A8.HalfWidth != 0.2 || !s.W8A8.Significant ||
				s.Passes != 12 || s.Looks != 6 || s.Stop == nil || !s.Stop.Reached || s.AA == nil || s.AA.Ratio != 1.02 || !*s.OverlapsAA {
				t.Errorf("got %+v", s)
			}
		})
	}
}

func TestGoalVerdict(t *testing.T) {
	sp := func(mean, lo, hi float64) spread { return spread{mean, lo, hi} }
	hw := func(mean, lo, hi float64) *spread { s := sp(mean, lo, hi); return &s }
	seq := across{Wall: sp(100, 90, 110), HalfWidth: hw(0.4, 0.3, 0.5)}
	for _, tc := range []struct {
		name string
		par  across
		want string
	}{
		{"met, apart", across{Wall: sp(80, 70, 85), HalfWidth: hw(0.2, 0.1, 0.25)}, "met: on average the paired runs reached a narrower interval in less time; every run"},
		{"met, overlapping", across{Wall: sp(95, 85, 105), HalfWidth: hw(0.35, 0.25, 0.45)}, "met: on average the paired runs reached a narrower interval in less time; both ranges overlap"},
		{"slower", across{Wall: sp(200, 190, 210), HalfWidth: hw(0.2, 0.1, 0.25)}, "not met: the paired runs' intervals were narrower on average, but they took longer; every run"},
		{"wider", across{Wall: sp(80, 70, 85), HalfWidth: hw(0.5, 0.45, 0.55)}, "not met: the paired runs took less time on average, but their intervals were not narrower; the wall times keep apart"},
		{"neither", across{Wall: sp(200, 190, 210), HalfWidth: hw(0.45, 0.35, 0.55)}, "not met: the paired runs took longer on average and their intervals were not narrower; the wall times keep apart"},
		{"unbounded", across{Wall: sp(80, 70, 85)}, "not met: the paired runs took less time on average, but their intervals were not narrower; the wall times keep apart"},
	} {
		if got := goalVerdict(seq, tc.par); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %q...", tc.name, got, tc.want)
		}
	}
	// A sequential interval that is unbounded is wider than any.
	if got := goalVerdict(across{Wall: sp(100, 90, 110)}, across{Wall: sp(80, 70, 85), HalfWidth: hw(0.5, 0.4, 0.6)}); !strings.HasPrefix(got, "met:") {
		t.Errorf("against an unbounded interval: %q", got)
	}
}

// TestReport renders fixed runs: sequential runs faster but, in one run,
// with an unbounded interval; paired runs slower, narrower, one stopping at
// the target, one at --max-repeat.
func TestReport(t *testing.T) {
	env := sidebyside.Environment{Date: "2025-01-02T03:04:05Z", CPU: "Test CPU", Cores: 2, MemoryGiB: 8, Go: "go1.test",
		Rollbench: "v0-test", VLLM: "0.0.test", Torch: "2.test", Python: "3.test"}
	f := func(x float64) *float64 { return &x }
	yes, no := true, false
	samples := []sample{
		{Procedure: sequential, Run: 0, WallSeconds: 120.5, Passes: 5, Looks: 1,
			W8A8: interval{Ratio: 1.2, Low: f(0.9), High: f(1.6), Level: 0.95, P: 0.2, HalfWidth: f(0.2917)}},
		{Procedure: paired, Run: 0, WallSeconds: 230.25, Passes: 12, Looks: 6,
			W8A8:       interval{Ratio: 1.25, Low: f(1.01), High: f(1.55), Level: 0.9917, P: 0.03, Significant: true, HalfWidth: f(0.216)},
			Stop:       &metrics.Stop{Passes: 12, Reached: true, HalfWidth: 0.233, Reason: "the interval is within ±40.0% after 12 passes (±23.3%, corrected for 6 looks)"},
			AA:         &interval{Ratio: 1.01, Low: f(0.8), High: f(1.27), Level: 0.9917, P: 0.9, HalfWidth: f(0.233)},
			OverlapsAA: &yes},
		{Procedure: paired, Run: 1, WallSeconds: 260, Passes: 20, Looks: 6,
			W8A8:       interval{Ratio: 1.3, Low: f(1.2), High: f(1.4), Level: 0.9917, P: 0.0001, Significant: true, HalfWidth: f(0.0769)},
			Stop:       &metrics.Stop{Passes: 20, HalfWidth: 0.101, Reason: "reached --max-repeat 20 with the interval at ±10.1%, wider than the target ±5.0%"},
			AA:         &interval{Ratio: 0.99, Low: f(0.9), High: f(1.1), Level: 0.9917, P: 0.8, HalfWidth: f(0.101)},
			OverlapsAA: &no},
		{Procedure: sequential, Run: 1, WallSeconds: 118, Passes: 5, Looks: 1,
			W8A8: interval{Ratio: 1.1, Level: 0.95, P: 0.6}},
	}
	data, md, err := report(testOptions(), env, samples)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "report.json"), data, *update)
	golden.Check(t, filepath.Join("testdata", "report.md"), md, *update)
	if _, _, err := report(testOptions(), env, samples[:1]); err == nil {
		t.Error("no paired runs: no error")
	}

	// --rerender writes the same report from the runs the JSON recorded.
	o := testOptions()
	o.Out = filepath.Join(t.TempDir(), "verdict")
	if err := o.Write(data, nil); err != nil {
		t.Fatal(err)
	}
	if err := rerender(o); err != nil {
		t.Fatal(err)
	}
	for ext, want := range map[string][]byte{".json": data, ".md": md} {
		if got, err := os.ReadFile(o.Out + ext); err != nil || string(got) != string(want) {
			t.Errorf("rerendered %s differs (%v):\n%s", ext, err, got)
		}
	}
}

// FuzzReadPaired: whatever the paired result holds, reading it fails with
// an error or gives a w8a8 interval with its A/A row and stop, never a
// panic.
func FuzzReadPaired(f *testing.F) {
	f.Add(pairedOK)
	f.Add(`{"status": "ok", "stop": {}, "comparisons": [{"arm": "w8a8"}, {"arm": "bf16 (A/A)"}]}`)
	f.Add(`{"status": "ok", "comparisons": null}`)
	f.Fuzz(func(t *testing.T, file string) {
		s, err := readPaired(writeFiles(t, map[string]string{"tiny_paired.json": file}))
		if err == nil && (s.W8A8.HalfWidth == nil || s.AA == nil || s.OverlapsAA == nil || s.Stop == nil) {
			t.Errorf("read without its parts: %+v", s)
		}
	})
}

// FuzzReadSequential: whatever the two results hold, reading them fails
// with an error or gives an interval from at least two passes of each.
func FuzzReadSequential(f *testing.F) {
	f.Add(offlineJSON("ok", "1000", "1100", "900"), offlineJSON("ok", "1200", "1300", "1150"))
	f.Add(offlineJSON("ok", "1", "1"), offlineJSON("ok", "0", "0"))
	f.Fuzz(func(t *testing.T, bf16, w8a8 string) {
		s, err := readSequential(writeFiles(t, map[string]string{"tiny_bf16.json": bf16, "tiny_w8a8.json": w8a8}))
		if err == nil && (s.Passes < 2 || (s.W8A8.Low == nil) != (s.W8A8.HalfWidth == nil)) {
			t.Errorf("read as %+v", s)
		}
	})
}
