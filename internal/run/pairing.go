package run

import (
	"slices"

	"github.com/rollbench/rollbench/workload"
)

// Arm is one engine of a paired experiment.
type Arm struct {
	// Name is the arm's record's name: MODEL_QUANT, MODEL_bf16_aa for the
	// A/A arm.
	Name   string          `json:"name"`
	Engine workload.Engine `json:"engine"`
	// AA marks the BF16 configuration loaded a second time.
	AA bool `json:"aa,omitempty"`
}

// PairedExperiment is a paired experiment: Arms[0] is the baseline, and
// every arm runs Spec's rollout on its own engine.
type PairedExperiment struct {
	Name, ModelName string
	Spec            workload.Spec
	Arms            []Arm
}

// MinRounds is the least a paired experiment runs: one round gives no
// interval.
const MinRounds = 2

// roundOrder is the order the arms run in at round i: forward in even
// rounds, backward in odd ones (A B, B A, ...), so that no arm always runs
// right after the same other, nor always first.
func roundOrder(arms, i int) []int {
	order := make([]int, arms)
	for k := range order {
		order[k] = k
	}
	if i%2 == 1 {
		slices.Reverse(order)
	}
	return order
}
