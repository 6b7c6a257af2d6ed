package workload

import (
	"slices"
	"strings"
	"testing"
)

func TestDefaultIsVerlPerDeviceRollout(t *testing.T) {
	s := Default()
	s.Engine.Model = "/models/x"
	if err := s.Validate(); err != nil {
		t.Fatalf("default spec invalid: %v", err)
	}
	if got := s.Rollout.Sequences(); got != 256 {
		t.Errorf("sequences = %d, want 256 (32 prompts x n=8)", got)
	}
	e := s.Engine
	if e.GPUMemoryUtilization != 0.4 || e.MaxNumSeqs != 1024 || e.MaxModelLen != 768 || s.Rollout.InputLen != 512 || s.Rollout.OutputLen != 256 {
		t.Errorf("defaults drifted from verl's rollout: %+v", s)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Spec)
		want   []string
	}{
		{"n zero", func(s *Spec) { s.Rollout.N = 0 }, []string{"-n must be at least 1, got 0"}},
		{"too long", func(s *Spec) { s.Rollout.InputLen = 600 },
			[]string{"--input-len 600 + --output-len 256 = 856 exceeds --max-model-len 768"}},
		{"exactly fits", func(s *Spec) { s.Rollout.InputLen = 512; s.Engine.MaxModelLen = 768 }, nil},
		{"mem util zero", func(s *Spec) { s.Engine.GPUMemoryUtilization = 0 }, []string{"--gpu-mem-util must be in (0, 1], got 0"}},
		{"mem util above one", func(s *Spec) { s.Engine.GPUMemoryUtilization = 1.5 }, []string{"--gpu-mem-util must be in (0, 1], got 1.5"}},
		{"mem util one", func(s *Spec) { s.Engine.GPUMemoryUtilization = 1 }, nil},
		{"unknown quant", func(s *Spec) { s.Engine.Quant = "w4a4" }, []string{`--quant: unknown quantization "w4a4" (want one of bf16, w8a16, w8a8)`}},
		{"bad dtype", func(s *Spec) { s.Engine.Dtype = "int3" }, []string{`--dtype must be one of auto, bfloat16, float16, float32, half, float, got "int3"`}},
		{"several at once", func(s *Spec) { s.Rollout.NumPrompts = 0; s.Engine.MaxNumSeqs = 0; s.Engine.TensorParallelSize = 0 },
			[]string{"--num-prompts must be at least 1", "--max-num-seqs must be at least 1", "--tensor-parallel-size must be at least 1"}},
		{"negative warmup", func(s *Spec) { s.Rollout.WarmupPrompts = -1 }, []string{"--warmup-prompts must be at least 0, got -1"}},
		{"zero output", func(s *Spec) { s.Rollout.OutputLen = 0 }, []string{"--output-len must be at least 1, got 0"}},
		{"unknown mode", func(s *Spec) { s.Rollout.Mode = "batch" }, []string{`--rollout-mode must be sync or async, got "batch"`}},
		{"async", func(s *Spec) { s.Rollout.Mode = Async }, nil},
		{"distribution beyond the context", func(s *Spec) {
			s.Rollout.Lengths = &LengthDist{Spec: "uniform:1-300", Max: 300}
			s.Rollout.OutputLen = 300
		}, []string{"--input-len 512 + --output-len-dist uniform:1-300 (longest 300) = 812 exceeds --max-model-len 768"}},
		{"distribution and output length disagree", func(s *Spec) { s.Rollout.Lengths = &LengthDist{Spec: "fixed:8", Max: 8} },
			[]string{"--output-len 256 differs from --output-len-dist fixed:8's longest length 8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Default()
			s.Engine.Model = "/models/x"
			tc.modify(&s)
			err := s.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want errors %q, got none", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if n := len(strings.Split(err.Error(), "\n")); n != len(tc.want) {
				t.Errorf("got %d problems, want %d: %v", n, len(tc.want), err)
			}
		})
	}
}

func TestParseQuantization(t *testing.T) {
	for in, want := range map[string]Quantization{"bf16": BF16, "W8A8": W8A8, "w8a16": W8A16} {
		if got, err := ParseQuantization(in); err != nil || got != want {
			t.Errorf("ParseQuantization(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseQuantization("fp8"); err == nil {
		t.Error("fp8 accepted")
	}
}

func TestPrompts(t *testing.T) {
	r := Rollout{NumPrompts: 4, InputLen: 16, Seed: 0, WarmupPrompts: 2}
	skip := []int{0, 1, 2}
	a, err := r.Prompts(50, skip)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.Prompts(50, skip)
	if len(a) != 4 {
		t.Fatalf("got %d prompts", len(a))
	}
	for i, p := range a {
		if len(p) != 16 {
			t.Errorf("prompt %d has %d tokens, want 16", i, len(p))
		}
		for _, id := range p {
			if id < 3 || id >= 50 {
				t.Errorf("prompt %d has id %d outside [3, 50)", i, id)
			}
		}
		if !slices.Equal(p, b[i]) {
			t.Errorf("prompt %d differs between two draws with the same seed", i)
		}
	}
	// Pinned so that a change of generator, which would silently change
	// every workload, is caught.
	if want := []int{46, 48, 10, 11}; !slices.Equal(a[0][:4], want) {
		t.Errorf("first ids = %v, want %v", a[0][:4], want)
	}
	r.Seed = 1
	c, _ := r.Prompts(50, skip)
	if slices.Equal(a[0], c[0]) {
		t.Error("seeds 0 and 1 drew the same prompt")
	}
	r.Seed = 0
	w, _ := r.WarmupPromptSet(50, skip)
	if len(w) != 2 || slices.Equal(w[0], a[0]) {
		t.Errorf("warm-up prompts %v should be 2 prompts unlike the measured ones", w)
	}
	if _, err := r.Prompts(3, skip); err == nil || !strings.Contains(err.Error(), "no ids left") {
		t.Errorf("all-special vocabulary: %v", err)
	}
}

func TestChunks(t *testing.T) {
	cases := []struct {
		prompts, dp int
		want        []int
	}{
		{4, 2, []int{0, 0, 1, 1}},
		{5, 2, []int{0, 0, 0, 1, 1}},
		{3, 3, []int{0, 1, 2}},
		{7, 3, []int{0, 0, 0, 1, 1, 2, 2}},
	}
	for _, c := range cases {
		if got := Chunks(c.prompts, c.dp); !slices.Equal(got, c.want) {
			t.Errorf("Chunks(%d, %d) = %v, want %v", c.prompts, c.dp, got, c.want)
		}
	}
}
