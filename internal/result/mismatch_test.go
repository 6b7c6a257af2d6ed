package result

import "testing"

func TestModelShapeDiffers(t *testing.T) {
	base := ModelShape{Architectures: []string{"Qwen3ForCausalLM"}, HiddenSize: 64, Layers: 2, VocabSize: 1024}
	for _, tc := range []struct {
		name  string
		edit  func(*ModelShape)
		wants string
	}{
		{"same", func(*ModelShape) {}, ""},
		{"architecture", func(s *ModelShape) { s.Architectures = []string{"LlamaForCausalLM"} }, "architecture [LlamaForCausalLM], not [Qwen3ForCausalLM]"},
		{"layers", func(s *ModelShape) { s.Layers = 3 }, "3 layers of width 64, not 2 of 64"},
		{"width", func(s *ModelShape) { s.HiddenSize = 128 }, "2 layers of width 128, not 2 of 64"},
		{"embedding", func(s *ModelShape) { s.VocabSize = 2048 }, "an embedding of 2048 ids, not 1024"},
	} {
		other := base
		other.Architectures = append([]string(nil), base.Architectures...)
		tc.edit(&other)
		if got := base.Differs(other); got != tc.wants {
			t.Errorf("%s: Differs = %q, want %q", tc.name, got, tc.wants)
		}
	}
}

func TestParseReferenceKind(t *testing.T) {
	for _, s := range []string{"hf", "vllm"} {
		if k, err := ParseReferenceKind(s); err != nil || string(k) != s {
			t.Errorf("ParseReferenceKind(%q) = %q, %v", s, k, err)
		}
	}
	if _, err := ParseReferenceKind("HF"); err == nil {
		t.Error("ParseReferenceKind accepted HF")
	}
}
