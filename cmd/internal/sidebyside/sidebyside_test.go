package sidebyside

import (
	"reflect"
	"testing"
)

func TestOrder(t *testing.T) {
	for i, want := range [][]string{{"a", "b"}, {"b", "a"}, {"a", "b"}} {
		if got := Order(i, "a", "b"); !reflect.DeepEqual(got, want) {
			t.Errorf("run %d: %v, want %v", i, got, want)
		}
	}
}

func TestSpreadOf(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want Spread
	}{
		{[]float64{3}, Spread{3, 3, 3}},
		{[]float64{5, 1, 3}, Spread{3, 1, 5}},
		// gonum's empirical quantile: the lower middle of an even count.
		{[]float64{4, 1, 3, 2}, Spread{2, 1, 4}},
	} {
		xs := append([]float64(nil), tc.xs...)
		if got := SpreadOf(xs); got != tc.want {
			t.Errorf("SpreadOf(%v) = %+v, want %+v", tc.xs, got, tc.want)
		}
		if !reflect.DeepEqual(xs, tc.xs) {
			t.Errorf("SpreadOf reordered its argument: %v", xs)
		}
	}
}
