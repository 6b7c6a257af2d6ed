package workload

import (
	"fmt"
	"strings"
)

// Preset is the rollout setup of a known trainer: the mode and engine
// defaults it runs with and whether it caps max_tokens by its rule. A
// setting the user gives explicitly wins over the preset's.
type Preset struct {
	Name string
	// Mode is the rollout mode the trainer uses.
	Mode Mode
	// MaxNumSeqs is the engine's max_num_seqs in the trainer's config.
	MaxNumSeqs int
	// VerlMaxTokens caps each sample's max_tokens with verl's rule.
	VerlMaxTokens bool
	// EngineArgs are further engine arguments, added unless the model's
	// config sets them.
	EngineArgs map[string]any
}

// PresetVerlAsync names verl's current rollout: async mode with the engine
// defaults of verl's rollout config (verl/trainer/config/rollout/rollout.yaml)
// and its max_tokens rule.
const PresetVerlAsync = "verl-async"

// presets are the known presets, built afresh on every call so that no
// caller can change another's.
func presets() []Preset {
	return []Preset{{
		Name:          PresetVerlAsync,
		Mode:          Async,
		MaxNumSeqs:    256,
		VerlMaxTokens: true,
		EngineArgs: map[string]any{
			"max_num_batched_tokens": 8192,
			"enable_chunked_prefill": true,
			"enable_prefix_caching":  true,
		},
	}}
}

// LookupPreset returns the preset of that name.
func LookupPreset(name string) (Preset, error) {
	var names []string
	for _, p := range presets() {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Preset{}, fmt.Errorf("must be %s, got %q", strings.Join(names, " or "), name)
}

// Apply sets the preset's defaults in spec, except the mode when modeGiven
// and max_num_seqs when maxNumSeqsGiven (the user's explicit choices), and
// records the preset's name.
func (p Preset) Apply(spec *Spec, modeGiven, maxNumSeqsGiven bool) {
	spec.Rollout.Preset, spec.Rollout.VerlMaxTokens = p.Name, p.VerlMaxTokens
	if !modeGiven {
		spec.Rollout.Mode = p.Mode
	}
	if !maxNumSeqsGiven {
		spec.Engine.MaxNumSeqs = p.MaxNumSeqs
	}
}
