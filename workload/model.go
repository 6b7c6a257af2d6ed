package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// CheckModel looks at a model directory before anything is loaded: it must
// hold a readable config.json, and its quantization must be the one the
// experiment is labelled with, so a BF16 row never measures a quantized
// checkpoint or the other way round.
func CheckModel(dir string, q Quantization) error {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: no such directory", dir)
		}
		return fmt.Errorf("%s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: no config.json (not a Hugging Face model directory)", dir)
		}
		return fmt.Errorf("%s: %w", dir, err)
	}
	var config struct {
		QuantizationConfig json.RawMessage `json:"quantization_config"`
	}
	if err := json.Unmarshal(data, &config); err != nil {
		return fmt.Errorf("%s: config.json: %w", dir, err)
	}
	// msModelSlim checkpoints for Ascend describe their quantization in a
	// file of their own.
	_, modelSlimErr := os.Stat(filepath.Join(dir, "quant_model_description.json"))
	quantized := len(config.QuantizationConfig) > 0 && string(config.QuantizationConfig) != "null" || modelSlimErr == nil
	switch {
	case q == BF16 && quantized:
		return fmt.Errorf("%s is a quantized checkpoint, not bf16", dir)
	case q != BF16 && !quantized:
		return fmt.Errorf("%s has no quantization config (config.json quantization_config or quant_model_description.json), so it is not %s", dir, q)
	}
	return nil
}
