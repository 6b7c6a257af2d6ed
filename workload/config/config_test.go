package config

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/golden"
	"github.com/rollbench/rollbench/workload"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestLoadErrors compares the messages a user sees for broken files with
// testdata/load_errors.golden.
func TestLoadErrors(t *testing.T) {
	var got strings.Builder
	for _, name := range []string{"malformed.yaml", "unknown_field.yaml", "semantic.yaml", "empty.yaml", "missing.yaml"} {
		_, err := Load(filepath.Join("testdata", name))
		if err == nil {
			t.Errorf("%s loaded without error", name)
			continue
		}
		got.WriteString("== " + name + "\n" + err.Error() + "\n")
	}
	golden.Check(t, filepath.Join("testdata", "load_errors.golden"), []byte(got.String()), *update)
}

func TestShippedConfigs(t *testing.T) {
	for _, tc := range []struct {
		file  string
		names []string
	}{
		{"../../configs/models.example.yaml", []string{"qwen3-1.7b", "pangu-7b", "qwen3-30b-a3b"}},
		{"../../configs/tiny.yaml", []string{"tiny"}},
	} {
		f, err := Load(tc.file)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if strings.Join(f.Names(), ",") != strings.Join(tc.names, ",") {
			t.Errorf("%s: models %v, want %v", tc.file, f.Names(), tc.names)
		}
	}
}

func TestSelect(t *testing.T) {
	base := t.TempDir()
	f, err := Load("../../configs/models.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	all, err := f.Select(nil, nil, base)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	skipped := 0
	for _, c := range all {
		names = append(names, c.Name())
		if !c.Configured {
			skipped++
		}
	}
	want := "qwen3-1.7b_bf16 qwen3-1.7b_w8a16 qwen3-1.7b_w8a8 pangu-7b_bf16 pangu-7b_w8a16 pangu-7b_w8a8 qwen3-30b-a3b_bf16 qwen3-30b-a3b_w8a16 qwen3-30b-a3b_w8a8"
	if strings.Join(names, " ") != want {
		t.Errorf("selection %v, want %s", names, want)
	}
	if skipped != 1 || all[7].Configured {
		t.Errorf("want only qwen3-30b-a3b_w8a16 unconfigured, got %d skipped", skipped)
	}
	w8a8 := all[2]
	if w8a8.Path != filepath.Join(base, "Qwen3-1.7B-w8a8") || w8a8.EngineArgs["quantization"] != "ascend" || w8a8.MaxModelLen != 768 {
		t.Errorf("qwen3-1.7b w8a8 = %+v", w8a8)
	}
	pangu := all[4]
	if pangu.EngineArgs["trust_remote_code"] != true || pangu.EngineArgs["quantization"] != "ascend" {
		t.Errorf("model and variant engine args not merged: %v", pangu.EngineArgs)
	}
	if all[6].TensorParallelSize != 2 {
		t.Errorf("qwen3-30b-a3b tensor parallel size = %d", all[6].TensorParallelSize)
	}

	// BF16 first, whatever order --quants gives.
	sel, err := f.Select([]string{"qwen3-30b-a3b"}, []string{"W8A8", "bf16"}, base)
	if err != nil || len(sel) != 2 || sel[0].Quant != workload.BF16 || sel[1].Quant != workload.W8A8 {
		t.Errorf("select w8a8,bf16 = %+v, %v", sel, err)
	}

	for _, tc := range []struct {
		models, quants []string
		base, want     string
	}{
		{[]string{"llama"}, nil, base, `--models: unknown model "llama" (configured: qwen3-1.7b, pangu-7b, qwen3-30b-a3b)`},
		{nil, []string{"int4"}, base, `--quants: unknown quantization "int4"`},
		{nil, nil, filepath.Join(base, "nope"), "model base " + filepath.Join(base, "nope") + ": no such directory"},
	} {
		if _, err := f.Select(tc.models, tc.quants, tc.base); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Select(%v, %v, %s) = %v, want %q", tc.models, tc.quants, tc.base, err, tc.want)
		}
	}
	tiny, err := Load("../../configs/tiny.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sel, err = tiny.Select(nil, nil, "")
	if err != nil || len(sel) != 3 || sel[0].Path != Builtin || sel[1].Configured || sel[2].Path != Builtin {
		t.Errorf("tiny selection = %+v, %v", sel, err)
	}
}

// TestSelectDataParallel checks that a model's data_parallel_size reaches
// each of its combinations, and only its own.
func TestSelectDataParallel(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want map[string]int // combination: data-parallel size
	}{
		{"unset", "models:\n  - name: a\n    quantizations: {bf16: {path: builtin}, w8a8: {path: builtin}}\n",
			map[string]int{"a_bf16": 0, "a_w8a16": 0, "a_w8a8": 0}},
		{"every variant of its model", "models:\n  - name: a\n    data_parallel_size: 2\n    quantizations: {bf16: {path: builtin}, w8a8: {path: builtin}}\n",
			map[string]int{"a_bf16": 2, "a_w8a16": 2, "a_w8a8": 2}},
		{"not another model's", "models:\n  - name: a\n    data_parallel_size: 4\n    tensor_parallel_size: 2\n    quantizations: {bf16: {path: builtin}}\n" +
			"  - name: b\n    quantizations: {bf16: {path: builtin}}\n",
			map[string]int{"a_bf16": 4, "a_w8a16": 4, "a_w8a8": 4, "b_bf16": 0, "b_w8a16": 0, "b_w8a8": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "models.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			sel, err := f.Select(nil, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, c := range sel {
				got[c.Name()] = c.DataParallelSize
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("data-parallel sizes %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	for _, name := range []string{"malformed.yaml", "semantic.yaml", "../../../configs/models.example.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Load(path)
		if err == nil {
			// A file that loads selects without panicking.
			_, _ = file.Select(nil, nil, dir)
		}
	})
}
