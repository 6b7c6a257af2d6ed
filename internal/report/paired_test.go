package report

import (
	"encoding/json"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/rollbench/rollbench/internal/golden"
	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload"
)

// The fixtures of testdata/paired and testdata/aa are built here from
// result's own types, so that their comparisons and stops are what the
// experiment would have recorded, and checked against the files (-update
// rewrites them; this file's tests run before TestGolden reads them).

// The default workload: 32 prompts x n=8, 512 prompt and 256 output tokens.
const (
	fixtureOutputTokens = 32 * 8 * 256
	fixtureTotalTokens  = 32*512 + fixtureOutputTokens
)

var fixtureStart = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

// fixtureArm is an ok offline record of model at quant with one repetition
// per output rate.
func fixtureArm(model string, quant workload.Quantization, aa bool, rates []float64) result.Offline {
	name := model + "_" + string(quant)
	if aa {
		name += "_aa"
	}
	spec := workload.Default()
	spec.Engine.Model, spec.Engine.Quant = "/models/"+model+"-"+string(quant), quant
	spec.Rollout.Repeat = len(rates)
	r := result.Offline{Header: result.Started(result.Schema, name, model), Spec: spec, AA: aa, RolloutMode: "sync", Warnings: []string{}}
	r.Rollbench, r.StartedAt, r.Status = "test", fixtureStart, result.StatusOK
	for i, rate := range rates {
		gen := fixtureOutputTokens / rate
		if i == 0 {
			r.SetGeneration(metrics.Tokens{Prompts: 32, Sequences: 256, PromptTokens: 32 * 512, OutputTokens: fixtureOutputTokens}, time.Duration(gen*float64(time.Second)))
		}
		r.AddRepetition(result.Repetition{GenerateS: gen, OutputTokensPerSecond: rate, TotalTokensPerSecond: fixtureTotalTokens / gen})
	}
	r.CloseRepetitions()
	return r
}

// scaled is rates times factors, round by round.
func scaled(rates, factors []float64) []float64 {
	out := make([]float64, len(rates))
	for i := range rates {
		out[i] = math.Round(rates[i] * factors[i])
	}
	return out
}

// fixturePaired is the paired experiment of model over rounds bf16 rates,
// with an A/A arm and a w8a8 arm at those rates times their factors,
// alternating the order round by round; with rule, it stopped by rule.
func fixturePaired(t *testing.T, model string, bf16, aa, w8a8 []float64, rule *metrics.Sequential) result.Paired {
	t.Helper()
	p := result.Paired{Header: result.Started(result.PairedSchema, model+"_paired", model)}
	p.Rollbench, p.StartedAt, p.Status = "test", fixtureStart, result.StatusOK
	p.Arms = []result.Offline{
		fixtureArm(model, workload.BF16, false, bf16),
		fixtureArm(model, workload.BF16, true, scaled(bf16, aa)),
		fixtureArm(model, workload.W8A8, false, scaled(bf16, w8a8)),
	}
	p.Rounds = len(bf16)
	for i := range p.Rounds {
		order := []string{p.Arms[0].Label(), p.Arms[1].Label(), p.Arms[2].Label()}
		if i%2 == 1 {
			order[0], order[2] = order[2], order[0]
		}
		p.Order = append(p.Order, order)
	}
	looks := 1
	if rule != nil {
		looks = rule.NumLooks()
	}
	p.Compare(looks)
	if rule != nil {
		st, done := rule.Check(p.Rounds, p.WidestHalfWidth())
		if !done {
			t.Fatalf("%s: the rule does not stop after %d rounds", model, p.Rounds)
		}
		p.Stop = &st
	}
	return p
}

// stopped cuts rates at the first look of rule that reaches its target,
// or at its maximum, and records the stop.
func stopped(t *testing.T, r result.Offline, rule metrics.Sequential) result.Offline {
	t.Helper()
	reps := r.Repetitions
	for n := 1; n <= len(reps); n++ {
		r.Repetitions = reps[:n]
		if st, done := rule.Check(n, r.OutputEstimate(rule.Alpha()).HalfWidth()); done {
			r.Warnings = []string{}
			r.CloseRepetitions()
			r.Spec.Rollout.Repeat = n
			r.Stop = &st
			return r
		}
	}
	t.Fatalf("%s: the rule does not stop within %d passes", r.Name, len(reps))
	return r
}

func checkFixture(t *testing.T, dir, name string, v any) {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", dir, name), append(data, '\n'), *update)
}

// TestPairedFixtures builds testdata/paired: tiny, whose w8a8 is 1.25x
// bf16 round by round, well outside its A/A band; small, whose w8a8 is
// 1.02x with a p-value far below 0.05 but an interval that overlaps its
// A/A band, stopped by --repeat auto; and big, which failed before its
// engines loaded.
func TestPairedFixtures(t *testing.T) {
	// Drift from round to round (CV 9%) that pairing cancels.
	bf16 := []float64{6200, 7400, 6900, 8100, 6600, 7900, 7100, 7600}
	tiny := fixturePaired(t, "tiny", bf16,
		[]float64{1.02, 0.97, 1.01, 0.99, 1.03, 0.98, 1.00, 1.01},
		[]float64{1.24, 1.28, 1.22, 1.27, 1.25, 1.21, 1.26, 1.23}, nil)
	checkFixture(t, "paired", "tiny_paired.json", tiny)

	rule, err := metrics.NewSequential(0.03, 12)
	if err != nil {
		t.Fatal(err)
	}
	small := fixturePaired(t, "small", []float64{3100, 3350, 2980, 3420, 3200, 3050, 3380, 3150},
		[]float64{1.01, 0.98, 1.02, 0.99, 1.00, 0.97, 1.03, 1.00},
		[]float64{1.02, 1.03, 1.01, 1.03, 1.025, 1.02, 1.035, 1.03}, &rule)
	checkFixture(t, "paired", "small_paired.json", small)

	const reason = "--paired: the engines' memory shares do not fit: 3 engines x gpu_memory_utilization 0.40 = 1.20 of the device"
	big := result.Paired{Header: result.Started(result.PairedSchema, "big_paired", "big")}
	big.Rollbench, big.StartedAt, big.Error = "test", fixtureStart, reason
	for _, arm := range []struct {
		q  workload.Quantization
		aa bool
	}{{workload.BF16, false}, {workload.BF16, true}, {workload.W8A8, false}} {
		a := fixtureArm("big", arm.q, arm.aa, nil)
		a.Status, a.Error = result.StatusFailed, reason
		big.Arms = append(big.Arms, a)
	}
	big.Order, big.Comparisons = [][]string{}, []result.Comparison{}
	checkFixture(t, "paired", "big_paired.json", big)
}

// TestAAFixtures builds testdata/aa: a sequential matrix with --aa and
// --repeat auto, bf16, its A/A run and w8a8 each in a process of its own
// and stopped by the rule on its own spread.
func TestAAFixtures(t *testing.T) {
	rule, err := metrics.NewSequential(0.05, 12)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		file  string
		quant workload.Quantization
		aa    bool
		rates []float64
	}{
		{"tiny_bf16.json", workload.BF16, false, []float64{7050, 7420, 6880, 7310, 7190, 6950, 7240, 7120, 7400, 6990, 7260, 7080}},
		{"tiny_bf16_aa.json", workload.BF16, true, []float64{6810, 7390, 7150, 6920, 7480, 7020, 7200, 6890, 7330, 7100, 6960, 7270}},
		{"tiny_w8a8.json", workload.W8A8, false, []float64{7700, 8610, 7040, 8320, 7260, 8650, 7190, 8100, 8470, 7330, 8580, 7280}},
	} {
		checkFixture(t, "aa", f.file, stopped(t, fixtureArm("tiny", f.quant, f.aa, f.rates), rule))
	}
}
