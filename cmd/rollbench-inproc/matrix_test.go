package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	runner "github.com/rollbench/rollbench/internal/run"
	"github.com/rollbench/rollbench/workload"
	"github.com/rollbench/rollbench/workload/config"
)

// TestPlanPairs checks how --paired and --aa shape the built-in model's
// matrix: which experiments run, with which arms, and what is skipped.
func TestPlanPairs(t *testing.T) {
	f, err := config.Load("../../configs/tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		sel    selection
		want   []string // each entry: NAME[arms...] or NAME(skip reason)
		shares float64
	}{
		{"sequential", selection{}, []string{"tiny_bf16", "tiny_w8a16(skip)", "tiny_w8a8"}, 0},
		{"sequential with the A/A floor last", selection{aa: true}, []string{"tiny_bf16", "tiny_w8a16(skip)", "tiny_w8a8", "tiny_bf16_aa[aa]"}, 0},
		{"paired", selection{paired: true}, []string{"tiny_paired[tiny_bf16 tiny_w8a8]", "tiny_w8a16(skip)"}, 0},
		{"paired with the A/A arm", selection{paired: true, aa: true}, []string{"tiny_paired[tiny_bf16 tiny_w8a8 tiny_bf16_aa]", "tiny_w8a16(skip)"}, 0},
		{"paired, bf16 alone", selection{paired: true, quants: []string{"bf16"}}, []string{"tiny_bf16"}, 0},
		{"paired, bf16 alone with A/A", selection{paired: true, aa: true, quants: []string{"bf16"}}, []string{"tiny_paired[tiny_bf16 tiny_bf16_aa]"}, 0},
		{"paired without bf16", selection{paired: true, quants: []string{"w8a8"}}, []string{"tiny_w8a8(skip)"}, 0},
		{"paired shares that fit", selection{paired: true, aa: true}, []string{"tiny_paired[tiny_bf16 tiny_w8a8 tiny_bf16_aa]", "tiny_w8a16(skip)"}, 0.33},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := engineOptions{spec: workload.Default()}
			e.spec.Engine.KVCacheMemoryBytes = 1 << 30
			if tc.shares > 0 {
				e.spec.Engine.KVCacheMemoryBytes, e.spec.Engine.GPUMemoryUtilization = 0, tc.shares
			}
			plan, err := planMatrix(e, tc.sel, f, func(name, model string, spec workload.Spec) experiment {
				return experiment{Name: name, ModelName: model, Spec: spec}
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := describePlan(plan); !slices.Equal(got, tc.want) {
				t.Errorf("plan %q, want %q", got, tc.want)
			}
			for _, p := range plan {
				x := p.Payload.(experiment)
				if x.Name != p.Name || len(x.Paired) != len(p.Arms) {
					t.Errorf("%s: payload %s with arms %v", p.Name, x.Name, x.Paired)
				}
				if p.Arms != nil && p.Arms[0].Engine.Quant != workload.BF16 {
					t.Errorf("%s: baseline arm %s", p.Name, p.Arms[0].Engine.Quant)
				}
			}
		})
	}
}

func describePlan(plan []runner.Planned) []string {
	var out []string
	for _, p := range plan {
		s := p.Name
		switch {
		case p.Skip != "":
			s += "(skip)"
		case p.Arms != nil:
			var names []string
			for _, a := range p.Arms {
				names = append(names, a.Name)
			}
			s += "[" + strings.Join(names, " ") + "]"
		case p.Payload.(experiment).AA:
			s += "[aa]"
		}
		out = append(out, s)
	}
	return out
}

// TestPlanReplicas checks which experiments of a matrix run on replicas,
// and how: a model's data_parallel_size, the dispatch and Ray address of
// the command line, and --data-parallel-size over the file.
func TestPlanReplicas(t *testing.T) {
	t.Setenv("ROLLBENCH_PYTHON", "/usr/bin/python3")
	split2 := "tiny_bf16 2 split, tiny_w8a16 2 split, tiny_w8a8 2 split, solo_bf16 -, solo_w8a16 -, solo_w8a8 -"
	for _, tc := range []struct {
		name string
		args []string
		want string // each entry: NAME SIZE DISPATCH [ADDRESS], or NAME - on one engine
	}{
		{"the model's size", nil, split2},
		{"the async rollout's dispatch", []string{"--rollout-mode", "async"},
			"tiny_bf16 2 least-requests, tiny_w8a16 2 least-requests, tiny_w8a8 2 least-requests, solo_bf16 -, solo_w8a16 -, solo_w8a8 -"},
		{"--dispatch and --ray-address", []string{"--dispatch", "least-requests", "--ray-address", "10.0.0.1:6379"},
			"tiny_bf16 2 least-requests 10.0.0.1:6379, tiny_w8a16 2 least-requests 10.0.0.1:6379, tiny_w8a8 2 least-requests 10.0.0.1:6379, solo_bf16 -, solo_w8a16 -, solo_w8a8 -"},
		{"--data-parallel-size over the file", []string{"--data-parallel-size", "4"},
			"tiny_bf16 4 split, tiny_w8a16 4 split, tiny_w8a8 4 split, solo_bf16 4 split, solo_w8a16 4 split, solo_w8a8 4 split"},
		{"the A/A run too", []string{"--models", "tiny", "--quants", "bf16", "--aa"}, "tiny_bf16 2 split, tiny_bf16_aa 2 split"},
		{"a model without a size", []string{"--models", "solo"}, "solo_bf16 -, solo_w8a16 -, solo_w8a8 -"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--config", "testdata/dp.yaml", "--num-prompts", "4", "--kv-cache-memory", "1GiB"}, tc.args...)
			cmd, err := parse(args, io.Discard)
			if err == nil {
				err = cmd.Validate()
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range cmd.(*matrixOptions).planned {
				r := p.Payload.(experiment).Spec.Replicas
				if r == nil {
					got = append(got, p.Name+" -")
					continue
				}
				got = append(got, strings.TrimSpace(fmt.Sprintf("%s %d %s %s", p.Name, r.DataParallelSize, r.Dispatch, r.RayAddress)))
			}
			if s := strings.Join(got, ", "); s != tc.want {
				t.Errorf("plan\n  %s\nwant\n  %s", s, tc.want)
			}
		})
	}
}
