package run

// PresetVerlAsync names verl's current rollout: async mode with the engine
// defaults of verl's rollout config (verl/trainer/config/rollout/rollout.yaml)
// and its max_tokens rule.
const PresetVerlAsync = "verl-async"

// PresetArgs are the engine arguments of a preset.
func PresetArgs(preset string) map[string]any {
	if preset != PresetVerlAsync {
		return nil
	}
	return map[string]any{
		"max_num_batched_tokens": 8192,
		"enable_chunked_prefill": true,
		"enable_prefix_caching":  true,
	}
}
