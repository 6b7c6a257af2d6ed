package run

import (
	"slices"
	"testing"
)

func TestRoundOrder(t *testing.T) {
	for _, tc := range []struct {
		arms, round int
		want        []int
	}{
		{2, 0, []int{0, 1}},
		{2, 1, []int{1, 0}},
		{2, 2, []int{0, 1}},
		{3, 0, []int{0, 1, 2}},
		{3, 1, []int{2, 1, 0}},
	} {
		if got := roundOrder(tc.arms, tc.round); !slices.Equal(got, tc.want) {
			t.Errorf("roundOrder(%d, %d) = %v, want %v", tc.arms, tc.round, got, tc.want)
		}
	}
}
