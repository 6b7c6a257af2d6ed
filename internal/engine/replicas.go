//go:build !nopython

package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rollbench/rollbench/internal/result"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload"
)

// The data-parallel step's replicas, on Ray (rollbench.replicas): the
// embedded interpreter is the Ray driver, each replica a Ray actor that
// runs its own engine.

// ClusterConfig says which Ray cluster the replicas run on.
type ClusterConfig struct {
	// Address is a running cluster's, as `ray start` prints it; empty
	// starts one of this machine alone.
	Address string
	// Devices is how many device slots a cluster rollbench starts offers.
	Devices int
	// Platform is vLLM's ("cpu", "cuda", "npu"): it names the Ray resource
	// a replica asks for.
	Platform string
	// Env is set in every replica's process.
	Env map[string]string
}

// Replicas are the step's engines, one Ray actor each.
type Replicas struct {
	in  *pyembed.Interpreter
	rep *pyembed.Handle
	n   int
}

// Connect starts or joins the Ray cluster.
func Connect(ctx context.Context, in *pyembed.Interpreter, c ClusterConfig) (result.Cluster, error) {
	var cl result.Cluster
	var address any
	if c.Address != "" {
		address = c.Address
	}
	err := callJSON(ctx, in, &cl, "connect", address, c.Devices, c.Platform, c.Env)
	if err != nil {
		return cl, fmt.Errorf("ray cluster: %w", err)
	}
	return cl, nil
}

// StartReplicas places dp replicas of tp devices each on the cluster and
// loads kwargs in each; cpus is every replica's Ray CPU request.
func StartReplicas(ctx context.Context, in *pyembed.Interpreter, cl result.Cluster, dp, tp int, platform string, kwargs map[string]any, cpus float64) (*Replicas, result.Placement, error) {
	var p result.Placement
	r := &Replicas{in: in, n: dp}
	info := map[string]any{"started": cl.Started, "nodes": clusterNodes(cl.Nodes)}
	err := in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.replicas")
		if err != nil {
			return err
		}
		out, err := m.CallMethod("start", []any{info, dp, tp, platform, kwargs, cpus}, nil)
		if err != nil {
			return err
		}
		rep, err := out.Index(0)
		if err != nil {
			return err
		}
		r.rep = rep.Keep()
		figures, err := out.Index(1)
		if err != nil {
			return err
		}
		return decodeJSON(s, figures, &p)
	})
	if err != nil {
		return nil, p, fmt.Errorf("start %d replicas: %w", dp, err)
	}
	return r, p, nil
}

func clusterNodes(nodes []result.ClusterNode) []any {
	out := make([]any, len(nodes))
	for i, n := range nodes {
		out[i] = map[string]any{"node_id": n.NodeID, "ip": n.IP, "resources": n.Resources}
	}
	return out
}

// Vocabulary asks the first replica's tokenizer.
func (r *Replicas) Vocabulary(ctx context.Context) (workload.Vocabulary, error) {
	var v workload.Vocabulary
	err := r.in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.replicas")
		if err != nil {
			return err
		}
		out, err := m.CallMethod("vocabulary", []any{s.Object(r.rep)}, nil)
		if err != nil {
			return err
		}
		size, err := out.Index(0)
		if err != nil {
			return err
		}
		n, err := size.Int()
		if err != nil {
			return err
		}
		v.Size = int(n)
		ids, err := out.Index(1)
		if err != nil {
			return err
		}
		v.Special, err = ids.Ints()
		return err
	})
	if err != nil {
		return v, fmt.Errorf("read vocabulary: %w", err)
	}
	return v, nil
}

// ReplicaStep is what one step over the replicas did.
type ReplicaStep struct {
	*Generation
	// Replica is the replica of each request.
	Replica []int
	// HandoutS is when the driver had handed the last request over, in
	// seconds after the first; CallOverheadS is, for every call to a
	// replica, the driver's wait for it less the replica's own time in
	// it: what Ray added.
	HandoutS      float64
	CallOverheadS []float64
}

// Step runs one step over the replicas: prompts[i] with params[i]. With
// assign, request i goes to replica assign[i], each replica's share in one
// call (verl's split); with assign nil every request goes on its own to the
// replica with the fewest in flight (least-requests).
func (r *Replicas) Step(ctx context.Context, prompts [][]int, params []workload.Sampling, assign []int) (*ReplicaStep, error) {
	if len(prompts) != len(params) || (assign != nil && len(assign) != len(prompts)) {
		return nil, fmt.Errorf("step: %d prompts, %d sampling params, %d assignments", len(prompts), len(params), len(assign))
	}
	reqs := make([]any, len(prompts))
	for i, p := range prompts {
		reqs[i] = []any{p, map[string]any(samplingKwargs(params[i]))}
	}
	var out struct {
		Replica     []int `json:"replica"`
		Completions [][]struct {
			OutputTokens int     `json:"output_tokens"`
			FinishReason string  `json:"finish_reason"`
			FinishS      float64 `json:"finish_s"`
			FirstTokenS  float64 `json:"first_token_s"`
		} `json:"completions"`
		HandoutS      float64   `json:"handout_s"`
		CallOverheadS []float64 `json:"call_overhead_s"`
	}
	var elapsed time.Duration
	err := r.in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.replicas")
		if err != nil {
			return err
		}
		var a any
		if assign != nil {
			a = assign
		}
		start := time.Now()
		res, err := m.CallMethod("step", []any{s.Object(r.rep), reqs, a}, nil)
		elapsed = time.Since(start)
		if err != nil {
			return err
		}
		return decodeJSON(s, res, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("step on %d replicas: %w", r.n, err)
	}
	st := &ReplicaStep{Generation: &Generation{Elapsed: elapsed, Requests: make([]metrics.Request, len(prompts))},
		Replica: out.Replica, HandoutS: out.HandoutS, CallOverheadS: out.CallOverheadS}
	for i, comps := range out.Completions {
		req := metrics.Request{PromptTokens: len(prompts[i])}
		for _, c := range comps {
			req.Completions = append(req.Completions, metrics.Completion{OutputTokens: c.OutputTokens, FinishReason: c.FinishReason,
				Timed: true, FirstTokenS: c.FirstTokenS, FinishS: c.FinishS})
		}
		st.Requests[i] = req
	}
	return st, nil
}

// Close shuts the engines down and removes rollbench's actors and
// placement groups, ending the cluster if rollbench started it.
func (r *Replicas) Close(ctx context.Context) error {
	if r.rep == nil {
		return nil
	}
	err := r.in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.replicas")
		if err != nil {
			return err
		}
		_, err = m.CallMethod("close", []any{s.Object(r.rep)}, nil)
		return err
	})
	r.rep.Release()
	r.rep = nil
	if err != nil {
		return fmt.Errorf("shut down replicas: %w", err)
	}
	return nil
}

// Disconnect leaves the cluster, ending it if rollbench started it: for a
// run that failed before its replicas started.
func Disconnect(ctx context.Context, in *pyembed.Interpreter) error {
	return callJSON(ctx, in, nil, "disconnect")
}

// callJSON calls rollbench.replicas.fn(args...) and decodes what it
// returns into out (nil: ignored).
func callJSON(ctx context.Context, in *pyembed.Interpreter, out any, fn string, args ...any) error {
	return in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.replicas")
		if err != nil {
			return err
		}
		res, err := m.CallMethod(fn, args, nil)
		if err != nil || out == nil {
			return err
		}
		return decodeJSON(s, res, out)
	})
}

// decodeJSON passes plain Python data to Go through json.dumps.
func decodeJSON(s *pyembed.Scope, o pyembed.Object, out any) error {
	js, err := s.Import("json")
	if err != nil {
		return err
	}
	txt, err := js.CallMethod("dumps", []any{o}, nil)
	if err != nil {
		return err
	}
	data, err := txt.Str()
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(data), out)
}
