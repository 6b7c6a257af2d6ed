package metrics

import (
	"math"
	"strings"
	"testing"
)

func TestNewSpread(t *testing.T) {
	at := func(finish float64, tokens int) FinishSample {
		return FinishSample{FinishS: finish, OutputTokens: tokens}
	}
	cases := []struct {
		name       string
		samples    []FinishSample
		replicaOf  []int
		replicas   int
		step       float64
		slowest    int
		imbalance  float64
		idleDevice float64
		makespans  []float64
	}{
		{"even", []FinishSample{at(2, 10), at(2, 10)}, []int{0, 1}, 2, 2, 0, 1, 0, []float64{2, 2}},
		// Replica 1 finishes at 4 s, replica 0 at 2 s: mean 3, so 4/3;
		// replica 0 waits 2 s of the 4 s step: 2 of 8 device seconds.
		{"one straggler", []FinishSample{at(1, 5), at(2, 5), at(4, 5)}, []int{0, 0, 1}, 2, 4, 1, 4.0 / 3, 2, []float64{2, 4}},
		// A replica given nothing idles the whole step.
		{"idle replica", []FinishSample{at(3, 5)}, []int{1}, 2, 3, 1, 2, 3, []float64{0, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewSpread(c.samples, c.replicaOf, c.replicas, c.step)
			if err != nil {
				t.Fatal(err)
			}
			if s.Slowest != c.slowest || math.Abs(s.Imbalance-c.imbalance) > 1e-12 || math.Abs(s.IdleDeviceS-c.idleDevice) > 1e-12 {
				t.Errorf("slowest %d, imbalance %g, idle %g s; want %d, %g, %g s", s.Slowest, s.Imbalance, s.IdleDeviceS, c.slowest, c.imbalance, c.idleDevice)
			}
			if want := c.idleDevice / (float64(c.replicas) * c.step); math.Abs(s.IdleShare-want) > 1e-12 {
				t.Errorf("idle share %g, want %g", s.IdleShare, want)
			}
			samples := 0
			for r, f := range s.Replicas {
				if f.MakespanS != c.makespans[r] {
					t.Errorf("replica %d makespan %g, want %g", r, f.MakespanS, c.makespans[r])
				}
				if f.Running[0].Running != f.Samples || f.Running[len(f.Running)-1].Running != 0 {
					t.Errorf("replica %d running %v for %d samples", r, f.Running, f.Samples)
				}
				samples += f.Samples
			}
			if samples != len(c.samples) {
				t.Errorf("replicas hold %d samples of %d", samples, len(c.samples))
			}
		})
	}
}

func TestNewSpreadRefuses(t *testing.T) {
	cases := []struct {
		name      string
		replicaOf []int
		replicas  int
		step      float64
		want      string
	}{
		{"lengths differ", []int{0, 0}, 1, 1, "1 samples but 2"},
		{"replica out of range", []int{2}, 2, 1, "replica 2 of 2"},
		{"no step", []int{0}, 1, 0, "over a step of 0 s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewSpread([]FinishSample{{FinishS: 0.5}}, c.replicaOf, c.replicas, c.step)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}
