package workload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckModel(t *testing.T) {
	root := t.TempDir()
	write := func(dir, name, content string) string {
		d := filepath.Join(root, dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if name != "" {
			if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	plain := write("plain", "config.json", `{"model_type": "qwen3"}`)
	ct := write("ct", "config.json", `{"quantization_config": {"quant_method": "compressed-tensors"}}`)
	slim := write("slim", "config.json", `{"quantization_config": null}`)
	write("slim", "quant_model_description.json", `{"model_quant_type": "W8A8"}`)
	empty := write("empty", "", "")
	broken := write("broken", "config.json", `{"model_type": `)
	file := filepath.Join(write("f", "x", "x"), "x")

	for _, tc := range []struct {
		name, dir string
		quant     Quantization
		want      string
	}{
		{"bf16 plain", plain, BF16, ""},
		{"w8a8 compressed-tensors", ct, W8A8, ""},
		{"w8a16 msmodelslim", slim, W8A16, ""},
		{"missing", filepath.Join(root, "nope"), BF16, "no such directory"},
		{"a file", file, BF16, "not a directory"},
		{"no config", empty, BF16, "no config.json"},
		{"broken config", broken, BF16, "config.json: unexpected end of JSON input"},
		{"bf16 label on quantized", ct, BF16, ct + " is a quantized checkpoint, not bf16"},
		{"w8a8 label on plain", plain, W8A8, plain + " has no quantization config (config.json quantization_config or quant_model_description.json), so it is not w8a8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckModel(tc.dir, tc.quant)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want ok, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}
