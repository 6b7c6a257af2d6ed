// Package config reads the models file: which models exist, where each
// quantized variant of a model lives, and the engine arguments each needs.
// It replaces editing the original toolkit's script.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rollbench/rollbench/workload"
)

// Builtin as a variant's path names the built-in tiny model.
const Builtin = "builtin"

// File is a models file.
type File struct {
	// ModelBase is the directory relative variant paths are under.
	ModelBase string  `yaml:"model_base"`
	Models    []Model `yaml:"models"`
	path      string
}

// Model is one model and its checkpoints.
type Model struct {
	Name string `yaml:"name"`
	// TensorParallelSize and MaxModelLen override the command line's for
	// this model when set.
	TensorParallelSize int `yaml:"tensor_parallel_size"`
	MaxModelLen        int `yaml:"max_model_len"`
	// DataParallelSize, when set, runs the model's experiments on that
	// many replicas as Ray actors, unless the command line gives
	// --data-parallel-size: a size a model needs to fit is its
	// TensorParallelSize, while how many replicas share a step is the
	// run's question as much as the model's.
	DataParallelSize int            `yaml:"data_parallel_size"`
	EngineArgs       map[string]any `yaml:"engine_args"`
	// Quantizations maps bf16, w8a16 and w8a8 to their checkpoints; a
	// variant that is absent is not configured and is skipped.
	Quantizations map[workload.Quantization]Variant `yaml:"quantizations"`
	line          int
}

// Variant is one checkpoint of a model.
type Variant struct {
	// Path is absolute, relative to the model base, or Builtin.
	Path       string         `yaml:"path"`
	EngineArgs map[string]any `yaml:"engine_args"`
}

// reservedArgs have fields of their own and must not be set as engine_args:
// the model path comes from the variant, the rest from the model entry
// (vLLM's own data_parallel_size would split one engine where rollbench
// starts replicas of its own).
var reservedArgs = []string{"model", "tensor_parallel_size", "data_parallel_size", "max_model_len"}

// UnmarshalYAML keeps the entry's line for error messages.
func (m *Model) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, "name", "tensor_parallel_size", "data_parallel_size", "max_model_len", "engine_args", "quantizations"); err != nil {
		return err
	}
	type plain Model
	if err := n.Decode((*plain)(m)); err != nil {
		return err
	}
	m.line = n.Line
	return nil
}

// UnmarshalYAML rejects unknown keys.
func (v *Variant) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, "path", "engine_args"); err != nil {
		return err
	}
	type plain Variant
	return n.Decode((*plain)(v))
}

// checkKeys does for a mapping what the decoder's KnownFields does for the
// top level: a custom unmarshaler's nested Decode does not inherit it, and a
// misspelt key must not be ignored.
func checkKeys(n *yaml.Node, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(allowed, k.Value) {
			return fmt.Errorf("line %d: unknown key %q (want one of %s)", k.Line, k.Value, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// Load reads and validates a models file. Errors name the file and line.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	f := &File{path: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		return nil, fmt.Errorf("config %s: %s", path, yamlMessage(err))
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// yamlMessage turns the YAML library's message, which may span lines, into
// one line without its "yaml:" prefixes.
func yamlMessage(err error) string {
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "yaml:"))
		if l != "" && l != "unmarshal errors:" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

func (f *File) validate() error {
	if len(f.Models) == 0 {
		return fmt.Errorf("config %s: no models", f.path)
	}
	var errs []error
	bad := func(m Model, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config %s: line %d: model %q: %s", f.path, m.line, m.Name, fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for _, m := range f.Models {
		switch {
		case m.Name == "":
			bad(m, "no name")
		case strings.ContainsAny(m.Name, "/\\ ") || strings.Contains(m.Name, "_"):
			// Result files are MODEL_QUANT.json; an underscore would make
			// the quantization ambiguous.
			bad(m, "names may not contain '/', spaces or '_'")
		case seen[m.Name]:
			bad(m, "defined twice")
		}
		seen[m.Name] = true
		for _, size := range []struct {
			key string
			v   int
		}{{"tensor_parallel_size", m.TensorParallelSize}, {"data_parallel_size", m.DataParallelSize}, {"max_model_len", m.MaxModelLen}} {
			if size.v < 0 {
				bad(m, "%s must be positive, got %d", size.key, size.v)
			}
		}
		if len(m.Quantizations) == 0 {
			bad(m, "no quantizations")
		}
		for _, q := range slices.Sorted(maps.Keys(m.Quantizations)) {
			v := m.Quantizations[q]
			if _, err := workload.ParseQuantization(string(q)); err != nil {
				bad(m, "%v", err)
			} else if v.Path == "" {
				bad(m, "%s has no path", q)
			}
			for _, k := range reservedArgs {
				if _, ok := v.EngineArgs[k]; ok {
					bad(m, "%s engine_args may not set %s", q, k)
				}
			}
		}
		for _, k := range reservedArgs {
			if _, ok := m.EngineArgs[k]; ok {
				bad(m, "engine_args may not set %s (it has a field of its own)", k)
			}
		}
	}
	return errors.Join(errs...)
}

// Names lists the configured models in file order.
func (f *File) Names() []string {
	names := make([]string, len(f.Models))
	for i, m := range f.Models {
		names[i] = m.Name
	}
	return names
}

// Combination is one model x quantization of a selection.
type Combination struct {
	Model string
	Quant workload.Quantization
	// Configured is false for a variant the file does not list; such a
	// combination is skipped, not run.
	Configured bool
	// Path is the checkpoint directory, or Builtin.
	Path string
	// TensorParallelSize, DataParallelSize and MaxModelLen are 0 where
	// the model leaves the command line's.
	TensorParallelSize, DataParallelSize, MaxModelLen int
	// EngineArgs are the model's merged with the variant's, which win.
	EngineArgs map[string]any
}

// Name is the combination's result name.
func (c Combination) Name() string { return c.Model + "_" + string(c.Quant) }

// Select lists the combinations of the chosen models (all when none) and
// quantizations (all when none), models in the order given, BF16 first
// within each. modelBase overrides the file's.
func (f *File) Select(models, quants []string, modelBase string) ([]Combination, error) {
	if modelBase == "" {
		modelBase = f.ModelBase
	}
	if len(models) == 0 {
		models = f.Names()
	}
	var qs []workload.Quantization
	if len(quants) == 0 {
		qs = workload.Quantizations
	}
	for _, s := range quants {
		q, err := workload.ParseQuantization(s)
		if err != nil {
			return nil, fmt.Errorf("--quants: %v", err)
		}
		if !slices.Contains(qs, q) {
			qs = append(qs, q)
		}
	}
	// BF16 is every other variant's baseline: run it first.
	slices.SortStableFunc(qs, func(a, b workload.Quantization) int {
		return slices.Index(workload.Quantizations, a) - slices.Index(workload.Quantizations, b)
	})
	var out []Combination
	for _, name := range models {
		i := slices.Index(f.Names(), name)
		if i < 0 {
			return nil, fmt.Errorf("--models: unknown model %q (configured: %s)", name, strings.Join(f.Names(), ", "))
		}
		m := f.Models[i]
		for _, q := range qs {
			c := Combination{Model: m.Name, Quant: q, TensorParallelSize: m.TensorParallelSize, DataParallelSize: m.DataParallelSize, MaxModelLen: m.MaxModelLen}
			v, ok := m.Quantizations[q]
			if ok {
				c.Configured = true
				c.EngineArgs = maps.Clone(m.EngineArgs)
				if c.EngineArgs == nil {
					c.EngineArgs = map[string]any{}
				}
				maps.Copy(c.EngineArgs, v.EngineArgs)
				path, err := resolve(v.Path, modelBase)
				if err != nil {
					return nil, err
				}
				c.Path = path
			}
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--models and --quants select nothing")
	}
	return out, nil
}

func resolve(path, base string) (string, error) {
	if path == Builtin || filepath.IsAbs(path) {
		return path, nil
	}
	if base == "" {
		return "", fmt.Errorf("model path %q is relative, but no model base is set (model_base, --model-base or ROLLBENCH_MODEL_BASE)", path)
	}
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		return "", fmt.Errorf("model base %s: no such directory", base)
	}
	return filepath.Join(base, path), nil
}
