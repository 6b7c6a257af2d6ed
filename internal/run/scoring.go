package run

import "github.com/rollbench/rollbench/internal/result"

// Scoring asks an experiment for its mismatch (--mismatch): a scored pass
// after the measured ones, its samples written to SamplesPath, scored by
// Reference once the rollout engine is closed.
type Scoring struct {
	Reference   result.Reference `json:"reference"`
	SamplesPath string           `json:"samples_path"`
	// Prompts is how many of the step's prompts, the first, the scored
	// pass samples (every one's n samples); 0 is all.
	Prompts int `json:"prompts"`
}
