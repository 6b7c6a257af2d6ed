//go:build !nopython

package engine

import (
	"testing"

	"github.com/rollbench/rollbench/workload"
)

func TestSamples(t *testing.T) {
	prompts := [][]int{{1}, {2}, {3}}
	for _, tc := range []struct {
		name   string
		params []workload.Sampling
		want   int
	}{
		{"one SamplingParams for all", []workload.Sampling{{N: 4}}, 12},
		{"one per prompt", []workload.Sampling{{N: 1}, {N: 2}, {N: 3}}, 6},
	} {
		if got := samples(prompts, tc.params); got != tc.want {
			t.Errorf("%s: %d samples, want %d", tc.name, got, tc.want)
		}
	}
}
