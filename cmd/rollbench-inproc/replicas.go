package main

import (
	"github.com/spf13/pflag"

	"github.com/rollbench/rollbench/workload"
)

// replicaFlags need --data-parallel-size.
var replicaFlags = []string{"dispatch", "ray-address"}

// replicaOptions are the data-parallel step's flags: the replicas on Ray.
type replicaOptions struct {
	dataParallel int
	dispatch     string
	rayAddress   string
}

func (o *replicaOptions) register(fs *pflag.FlagSet) {
	fs.IntVar(&o.dataParallel, "data-parallel-size", 0, "run the step on this many engines (verl's rollout DP; each spans --tensor-parallel-size devices) as Ray actors, placed as verl places them (a STRICT_PACK placement group per node, a bundle per replica), and time it until the last sample is back from any replica; --num-prompts is then the whole step's (verl's train_batch_size); with --config, for every model, over the models file's data_parallel_size. 0: one engine in this process, no Ray")
	fs.StringVar(&o.dispatch, "dispatch", "", "with --data-parallel-size (or a model's data_parallel_size): how the step is handed out: split (the legacy sync rollout: the prompts chunked evenly by DP rank, one generate per replica) or least-requests (the agent loop: every sample its own request, to the replica with the fewest in flight); default split, least-requests with --rollout-mode async")
	fs.StringVar(&o.rayAddress, "ray-address", "", "with --data-parallel-size (or a model's data_parallel_size): join the Ray cluster at `ADDRESS` (as ray start --head prints it) and leave it running, removing only rollbench's actors and placement groups; default: start a cluster of this machine on 127.0.0.1, with token authentication and no dashboard, and end it afterwards")
}

// apply sets spec.Replicas from the flags; what the values must be is
// workload's to judge. Without --data-parallel-size it sets nothing: the
// flags that need it are each mode's to refuse, since in a matrix a
// model's data_parallel_size may stand in for it.
func (o *replicaOptions) apply(spec *workload.Spec, g given) error {
	if !g.has("data-parallel-size") {
		return nil
	}
	if o.dataParallel < 1 {
		return usagef("--data-parallel-size must be at least 1, got %d (leave it out for one engine in this process)", o.dataParallel)
	}
	spec.Replicas = o.replicas(o.dataParallel, spec.Rollout.Mode)
	return nil
}

// replicas is a step on size replicas, handed out as --dispatch says, or
// as verl does in the rollout mode.
func (o *replicaOptions) replicas(size int, mode workload.Mode) *workload.Replicas {
	d := workload.Dispatch(o.dispatch)
	if d == "" {
		d = workload.Split
		if mode == workload.Async {
			d = workload.LeastRequests
		}
	}
	return &workload.Replicas{DataParallelSize: size, Dispatch: d, RayAddress: o.rayAddress}
}

// refuse is the usage error of a mode that runs one engine.
func (o *replicaOptions) refuse(g given, mode string) error {
	if n, ok := g.first(append([]string{"data-parallel-size"}, replicaFlags...)...); ok {
		return usagef("%s runs one engine, not Ray replicas: leave out --%s", mode, n)
	}
	return nil
}
