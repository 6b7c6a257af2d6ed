package metrics

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func evenly(finishes []float64, tokens int) []FinishSample {
	s := make([]FinishSample, len(finishes))
	for i, f := range finishes {
		s[i] = FinishSample{FinishS: f, OutputTokens: tokens, FinishReason: "length"}
	}
	return s
}

func TestBuild(t *testing.T) {
	straggler := evenly([]float64{1, 1, 1, 1, 1, 1, 1, 1, 1}, 2)
	straggler = append(straggler, FinishSample{FirstTokenS: 3, FinishS: 5, OutputTokens: 8})
	for _, tc := range []struct {
		name     string
		samples  []FinishSample
		makespan float64
		want     Timeline
	}{
		{
			// Ten samples finishing at 1..10 s, each 10 tokens from 0 s:
			// p90 is the 9th finish; of the last sample's 10 tokens over
			// 0..10 s, 1 falls after 9 s.
			name: "one per second", samples: evenly([]float64{3, 1, 2, 4, 5, 6, 7, 8, 9, 10}, 10), makespan: 10.5,
			want: Timeline{
				MakespanS: 10.5, DoneS: FinishPercentiles{P50: 5, P90: 9, P99: 10}, TailShare: 1.5 / 10.5,
				TailOutputTokS: 1 / 1.5, PreTailOutputTokS: 99.0 / 9,
				Running: []TimelinePoint{{0, 10}, {1, 9}, {2, 8}, {3, 7}, {4, 6}, {5, 5}, {6, 4}, {7, 3}, {8, 2}, {9, 1}, {10, 0}},
			},
		},
		{
			// Ties collapse into one step; p90 equal to the makespan leaves
			// no tail and no tail rate.
			name: "ties", samples: evenly([]float64{2, 2, 4, 2}, 5), makespan: 4,
			want: Timeline{
				MakespanS: 4, DoneS: FinishPercentiles{P50: 2, P90: 4, P99: 4}, TailShare: 0,
				TailOutputTokS: 0, PreTailOutputTokS: 20.0 / 4,
				Running: []TimelinePoint{{0, 4}, {2, 1}, {4, 0}},
			},
		},
		{
			// Nine samples done at 1 s, one straggler producing all its 8
			// tokens between 3 and 5 s: 5 of 6 s are tail.
			name: "straggler", samples: straggler, makespan: 6,
			want: Timeline{
				MakespanS: 6, DoneS: FinishPercentiles{P50: 1, P90: 1, P99: 5}, TailShare: 5.0 / 6,
				TailOutputTokS: 8.0 / 5, PreTailOutputTokS: 18,
				Running: []TimelinePoint{{0, 10}, {1, 1}, {5, 0}},
			},
		},
		{
			name: "single sample", samples: []FinishSample{{FirstTokenS: 0.5, FinishS: 1, OutputTokens: 4}}, makespan: 2,
			want: Timeline{
				MakespanS: 2, DoneS: FinishPercentiles{P50: 1, P90: 1, P99: 1}, TailShare: 0.5,
				TailOutputTokS: 0, PreTailOutputTokS: 4,
				Running: []TimelinePoint{{0, 1}, {1, 0}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewTimeline(tc.samples, tc.makespan, "test")
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Samples, tc.want.FinishTimes, tc.want.Caveats = tc.samples, "test", caveats(len(tc.samples))
			tc.want.DoneS.Method = NearestRank
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"tail_share", got.TailShare, tc.want.TailShare},
				{"tail_output_tok_s", got.TailOutputTokS, tc.want.TailOutputTokS},
				{"pre_tail_output_tok_s", got.PreTailOutputTokS, tc.want.PreTailOutputTokS},
			} {
				if math.Abs(f.got-f.want) > 1e-9 {
					t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
				}
			}
			got.TailShare, got.TailOutputTokS, got.PreTailOutputTokS = 0, 0, 0
			tc.want.TailShare, tc.want.TailOutputTokS, tc.want.PreTailOutputTokS = 0, 0, 0
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Build =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	for _, tc := range []struct {
		name     string
		samples  []FinishSample
		makespan float64
		want     string
	}{
		{"no samples", nil, 1, "no samples"},
		{"zero makespan", evenly([]float64{0}, 1), 0, "makespan 0 s is not positive"},
		{"finish after makespan", evenly([]float64{1, 3}, 1), 2, "sample 1 has first token at 0 s and finish at 3 s, outside the makespan of 2 s"},
		{"first token after finish", []FinishSample{{FirstTokenS: 2, FinishS: 1}}, 3, "sample 0 has first token at 2 s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTimeline(tc.samples, tc.makespan, "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestCaveats(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{9, "with 9 samples, done_s.p90 and p99 are the last sample's finish time"},
		{10, "with 10 samples, done_s.p99 is the last sample's finish time"},
		{99, "with 99 samples, done_s.p99"},
		{100, ""},
	} {
		got := strings.Join(caveats(tc.n), "; ")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%d samples: caveats %q, want %q", tc.n, got, tc.want)
		}
	}
}
