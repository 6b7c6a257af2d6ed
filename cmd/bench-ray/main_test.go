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
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestArmArgs(t *testing.T) {
	o := options{repeat: 3, numPrompts: 32, n: 8, inputLen: 512, outputLen: 256, kvCache: "1GiB"}
	common := []string{"--num-prompts", "32", "-n", "8", "--input-len", "512", "--output-len", "256", "--repeat", "3", "--enforce-eager", "--kv-cache-memory", "1GiB"}
	out := []string{"--name", "tiny_bf16", "--output-dir", "O", "--log-dir", "L"}
	for _, tc := range []struct {
		arm  string
		want []string
	}{
		{inProcess, append(append([]string{}, common...), out...)},
		{throughRay, append(append(append([]string{}, common...), "--data-parallel-size", "1", "--dispatch", "split"), out...)},
	} {
		if got := armArgs(o, tc.arm, "O", "L"); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.arm, got, tc.want)
		}
	}
}

func TestReadRun(t *testing.T) {
	const passes = `"status": "ok", "timings": {"load_s": 40}, "repetitions": [{"generate_s": 6}, {"generate_s": 8}]`
	const replicas = `"replicas": {"cluster": {"connect_s": 5}, "handout_s": 0.001,
		"placement": {"place_s": 0.2, "start_s": 30, "replicas": [{"load_s": 25}]},
		"call_overhead_s": {"count": 1, "mean": 0.01}}`
	for _, tc := range []struct {
		name, json string
		ray        bool
		want       runFigures
		err        string
	}{
		{"in process", `{` + passes + `}`, false, runFigures{Generate: 7, Passes: []float64{6, 8}, Load: 40}, ""},
		{"through ray", `{` + passes + `, ` + replicas + `}`, true, runFigures{Generate: 7, Passes: []float64{6, 8}, Load: 40,
			Ray: &rayFigures{ConnectS: 5, PlaceS: 0.2, StartS: 30, ReplicaLoadS: 25, HandoutS: 0.001, CallOverheadS: 0.01}}, ""},
		{"ray arm without replicas", `{` + passes + `}`, true, runFigures{}, "no record of one Ray replica"},
		{"in-process arm on replicas", `{` + passes + `, ` + replicas + `}`, false, runFigures{}, "not in process"},
		{"failed", `{"status": "failed", "error": "boom"}`, false, runFigures{}, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.json")
			if err := os.WriteFile(path, []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := readRun(path, tc.ray)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v (ray %+v)\nwant %+v (ray %+v)", got, got.Ray, tc.want, tc.want.Ray)
			}
		})
	}
}

// runs are pairs in process and through Ray, in the order sidebyside.Order
// runs them, with the Ray arm's step at ratio times the in-process one's.
func runs(steps, ratios []float64) []runFigures {
	var fs []runFigures
	for i, s := range steps {
		arms := map[string]runFigures{
			inProcess: {Generate: s, Passes: []float64{s - 0.1, s, s + 0.1}, Load: 40 + float64(i)},
			throughRay: {Generate: s * ratios[i], Passes: []float64{s*ratios[i] - 0.1, s * ratios[i], s*ratios[i] + 0.1}, Load: 50 + float64(i),
				Ray: &rayFigures{ConnectS: 5 + float64(i), PlaceS: 0.2, StartS: 38, ReplicaLoadS: 30 + float64(i), HandoutS: 0.0004, CallOverheadS: 0.012}},
		}
		for _, arm := range sidebyside.Order(i, inProcess, throughRay) {
			f := arms[arm]
			f.Arm, f.Pair, f.WallS = arm, i, 90+10*float64(len(fs))
			// The first run's host says nothing of its load.
			if len(fs) > 0 {
				l := 1.5 + float64(len(fs))/4
				f.LoadAverage = &l
			}
			fs = append(fs, f)
		}
	}
	return fs
}

func TestReport(t *testing.T) {
	env := sidebyside.Environment{Date: "2026-12-03T10:00:00Z", CPU: "AMD EPYC", Cores: 2, MemoryGiB: 24, Go: "go1.26", Rollbench: "abc", VLLM: "0.32.0", Torch: "2.9", Python: "3.11"}
	for _, tc := range []struct {
		name    string
		ratios  []float64
		verdict string
	}{
		// Log ratios within a few thousandths of 0: the interval is
		// under ±1% and inside the goal.
		{"met", []float64{1.002, 0.998, 1.004, 1.0, 1.001}, "met"},
		{"missed", []float64{1.10, 1.12, 1.09, 1.11, 1.10}, "missed"},
		// Four pairs: fewer than the default, which the report says.
		{"undecided", []float64{1.10, 0.95, 1.04, 0.99}, "not shown either way"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := []float64{7, 7.5, 6.8, 7.2, 7.1}[:len(tc.ratios)]
			rep := report{Environment: env, Workload: "the tiny model, --repeat 3", Runs: runs(steps, tc.ratios)}
			if err := summarize(&rep); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(rep.Verdict, tc.verdict+":") || len(rep.PairRatios) != len(steps) || rep.Ratio.Rounds != len(steps) {
				t.Errorf("verdict %q, pair ratios %v, ratio %+v", rep.Verdict, rep.PairRatios, rep.Ratio)
			}
			golden.Check(t, filepath.Join("testdata", "report-"+tc.name+".md"), render(rep), *update)
		})
	}
	if err := summarize(&report{Runs: runs([]float64{7}, []float64{1})}); err == nil {
		t.Error("one pair summarized: no error")
	}
	unpaired := runs([]float64{7, 7}, []float64{1, 1})
	if err := summarize(&report{Runs: unpaired[:3]}); err == nil {
		t.Error("a run without its pair summarized: no error")
	}
}
