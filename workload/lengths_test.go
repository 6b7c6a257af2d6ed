package workload

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseLengthDist(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want LengthDist
		err  string
	}{
		{spec: "fixed:256", want: LengthDist{Kind: DistFixed, Min: 256, Max: 256}},
		{spec: "uniform:64-256", want: LengthDist{Kind: DistUniform, Min: 64, Max: 256}},
		{spec: "uniform:8-8", want: LengthDist{Kind: DistUniform, Min: 8, Max: 8}},
		{spec: "lognormal:120,0.8,256", want: LengthDist{Kind: DistLognormal, Min: 1, Max: 256, Median: 120, Sigma: 0.8}},
		{spec: "file:testdata/lengths.txt", want: LengthDist{Kind: DistFile, Min: 7, Max: 40, Lengths: []int{12, 40, 7}}},
		{spec: "fixed", err: `"fixed" is not fixed:N, uniform:LO-HI, lognormal:MEDIAN,SIGMA,MAX or file:PATH`},
		{spec: "fixed:", err: `is not fixed:N`},
		{spec: "fixed:0", err: `length "0" must be a whole number of at least 1`},
		{spec: "fixed:2.5", err: `length "2.5" must be a whole number`},
		{spec: "uniform:64", err: "uniform:64: want uniform:LO-HI"},
		{spec: "uniform:256-64", err: "uniform:256-64: LO 256 is above HI 64"},
		{spec: "uniform:a-64", err: `uniform's LO "a" must be a whole number`},
		{spec: "lognormal:120,0.8", err: "want lognormal:MEDIAN,SIGMA,MAX"},
		{spec: "lognormal:0.5,0.8,256", err: `MEDIAN "0.5" must be a number of at least 1`},
		{spec: "lognormal:120,-1,256", err: `SIGMA "-1" must be a finite number`},
		{spec: "lognormal:120,NaN,256", err: `SIGMA "NaN" must be a finite number`},
		{spec: "lognormal:300,0.8,256", err: "MEDIAN 300 is above its MAX 256"},
		{spec: "gamma:2,3", err: `unknown distribution "gamma"`},
		{spec: "file:testdata/nope.txt", err: "length file: open testdata/nope.txt: no such file or directory"},
		{spec: "file:testdata/lengths_empty.txt", err: "length file testdata/lengths_empty.txt: no lengths in it"},
		{spec: "file:testdata/lengths_bad.txt", err: `length file testdata/lengths_bad.txt: line 2: "abc" must be a whole number`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseLengthDist(tc.spec)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Spec = tc.spec
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSample(t *testing.T) {
	for _, spec := range []string{"fixed:32", "uniform:4-9", "lognormal:20,1,64", "file:testdata/lengths.txt"} {
		t.Run(spec, func(t *testing.T) {
			d, err := ParseLengthDist(spec)
			if err != nil {
				t.Fatal(err)
			}
			a, b := d.Sample(7, 2000), d.Sample(7, 2000)
			if !slices.Equal(a, b) {
				t.Fatal("the same seed drew different lengths")
			}
			if d.Kind != DistFixed && slices.Equal(a, d.Sample(8, 2000)) {
				t.Error("another seed drew the same lengths")
			}
			for _, n := range a {
				if n < d.Min || n > d.Max {
					t.Fatalf("length %d outside [%d, %d]", n, d.Min, d.Max)
				}
				if d.Kind == DistFile && !slices.Contains(d.Lengths, n) {
					t.Fatalf("length %d is not one of the file's", n)
				}
			}
			if d.Kind == DistUniform && (slices.Min(a) != 4 || slices.Max(a) != 9) {
				t.Errorf("2000 draws of uniform:4-9 span %d..%d", slices.Min(a), slices.Max(a))
			}
		})
	}
}

// The lognormal's median is its MEDIAN, and its tail reaches the cap: the
// shape that makes stragglers.
func TestSampleLognormalShape(t *testing.T) {
	d, err := ParseLengthDist("lognormal:20,1,64")
	if err != nil {
		t.Fatal(err)
	}
	xs := d.Sample(1, 4001)
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	if median := sorted[len(sorted)/2]; math.Abs(float64(median)-20) > 2 {
		t.Errorf("median %d, want about 20", median)
	}
	// P(X > 64) = P(Z > ln(3.2)) ~ 12%, all clamped to 64.
	capped := len(xs) - slices.Index(sorted, 64)
	if share := float64(capped) / float64(len(xs)); share < 0.09 || share > 0.15 {
		t.Errorf("%.3f of draws at the cap, want about 0.12", share)
	}
}

func TestSampleLengths(t *testing.T) {
	r := Rollout{NumPrompts: 2, N: 3, OutputLen: 16, Seed: 5}
	if got := r.SampleLengths(); !slices.Equal(got, []int{16, 16, 16, 16, 16, 16}) {
		t.Errorf("without a distribution: %v", got)
	}
	d, _ := ParseLengthDist("uniform:1-16")
	r.Lengths = &d
	if got, want := r.SampleLengths(), d.Sample(5, 6); !slices.Equal(got, want) {
		t.Errorf("with uniform:1-16: %v, want %v", got, want)
	}
}

func TestVerlMaxTokens(t *testing.T) {
	for _, tc := range []struct{ prompt, promptLength, responseLength, maxModelLen, want int }{
		{512, 512, 256, 768, 256}, // a full-length prompt gets the response length
		{100, 512, 256, 768, 668}, // a short prompt gets the prompt budget it left unused
		{100, 512, 256, 600, 500}, // clamped by the context
		{800, 512, 256, 768, 0},   // never negative
	} {
		if got := VerlMaxTokens(tc.prompt, tc.promptLength, tc.responseLength, tc.maxModelLen); got != tc.want {
			t.Errorf("VerlMaxTokens(%d, %d, %d, %d) = %d, want %d", tc.prompt, tc.promptLength, tc.responseLength, tc.maxModelLen, got, tc.want)
		}
	}
}
