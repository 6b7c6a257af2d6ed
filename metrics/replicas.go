// A data-parallel step waits for its slowest replica: these figures say
// how far apart the replicas finished and what the others spent waiting.

package metrics

import (
	"fmt"
	"slices"
)

// ReplicaFigures is one replica's part of a data-parallel step.
type ReplicaFigures struct {
	Replica int `json:"replica"`
	// MakespanS is when the replica's last sample was back, in seconds
	// after the step began; 0 for a replica that was given none.
	MakespanS             float64 `json:"makespan_s"`
	Samples               int     `json:"samples"`
	OutputTokens          int     `json:"output_tokens"`
	OutputTokensPerSecond float64 `json:"output_tokens_per_second"`
	// Running steps down at every finish time of its samples.
	Running []TimelinePoint `json:"running"`
}

// Spread is how a step's replicas finished against each other.
type Spread struct {
	// StepS is the step's makespan: until the last sample was back from
	// any replica.
	StepS    float64          `json:"step_makespan_s"`
	Replicas []ReplicaFigures `json:"replicas"`
	// Slowest is the replica whose last sample came back last.
	Slowest int `json:"slowest_replica"`
	// Imbalance is the slowest replica's makespan over the mean replica's:
	// 1 when all finish together.
	Imbalance float64 `json:"imbalance"`
	// IdleDeviceS is the device time the step's replicas spent done and
	// waiting for the slowest: the sum over replicas of (StepS - makespan).
	IdleDeviceS float64 `json:"idle_device_s"`
	// IdleShare is IdleDeviceS over all the step's device time (replicas x
	// StepS): the share of the step the slowest replica cost the others.
	IdleShare float64 `json:"idle_share"`
}

// NewSpread derives the spread of a step of stepS seconds over replicas
// replicas from its samples and the replica of each (replicaOf[i] is
// samples[i]'s).
func NewSpread(samples []FinishSample, replicaOf []int, replicas int, stepS float64) (Spread, error) {
	s := Spread{StepS: stepS, Replicas: make([]ReplicaFigures, replicas)}
	if len(samples) != len(replicaOf) {
		return s, fmt.Errorf("spread: %d samples but %d replica indices", len(samples), len(replicaOf))
	}
	if replicas < 1 || !(stepS > 0) {
		return s, fmt.Errorf("spread: %d replicas over a step of %g s", replicas, stepS)
	}
	finish := make([][]float64, replicas)
	for i, x := range samples {
		r := replicaOf[i]
		if r < 0 || r >= replicas {
			return s, fmt.Errorf("spread: sample %d is on replica %d of %d", i, r, replicas)
		}
		f := &s.Replicas[r]
		f.Samples++
		f.OutputTokens += x.OutputTokens
		f.MakespanS = max(f.MakespanS, x.FinishS)
		finish[r] = append(finish[r], x.FinishS)
	}
	var sum float64
	for r := range s.Replicas {
		f := &s.Replicas[r]
		f.Replica = r
		if f.MakespanS > 0 {
			f.OutputTokensPerSecond = float64(f.OutputTokens) / f.MakespanS
		}
		slices.Sort(finish[r])
		f.Running = running(finish[r])
		sum += f.MakespanS
		if f.MakespanS > s.Replicas[s.Slowest].MakespanS {
			s.Slowest = r
		}
		s.IdleDeviceS += stepS - f.MakespanS
	}
	if mean := sum / float64(replicas); mean > 0 {
		s.Imbalance = s.Replicas[s.Slowest].MakespanS / mean
	}
	s.IdleShare = s.IdleDeviceS / (float64(replicas) * stepS)
	return s, nil
}
