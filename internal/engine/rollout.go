//go:build !nopython

package engine

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/rollbench/rollbench/internal/progress"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/workload"
)

// Metrics reads LLM.get_metrics(): every counter and gauge by name, summed
// over its label sets (one per engine). Histograms and vectors are left out.
// The engine must run with stats logging on (disable_log_stats False).
func (e *Engine) Metrics(ctx context.Context) (map[string]float64, error) {
	var m map[string]float64
	err := e.in.Do(ctx, func(s *pyembed.Scope) (err error) {
		m, err = e.readMetrics(s)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read engine metrics: %w", err)
	}
	return m, nil
}

func (e *Engine) readMetrics(s *pyembed.Scope) (map[string]float64, error) {
	list, err := s.Object(e.llm).CallMethod("get_metrics", nil, nil)
	if err != nil {
		return nil, err
	}
	n, err := list.Len()
	if err != nil {
		return nil, err
	}
	m := make(map[string]float64)
	for i := range n {
		metric, err := list.Index(i)
		if err != nil {
			return nil, err
		}
		if !metric.HasAttr("value") { // histograms and vectors
			continue
		}
		name, err := metric.Attr("name")
		if err != nil {
			return nil, err
		}
		key, err := name.Str()
		if err != nil {
			return nil, err
		}
		value, err := metric.Attr("value")
		if err != nil {
			return nil, err
		}
		v, err := value.Float()
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", key, err)
		}
		m[key] += v
	}
	return m, nil
}

// Stream submits every prompt as its own request (prompts[i] with
// params[i], n 1) to the LLM's engine at once, the way verl's async server
// receives a step, and drives the engine's step loop from Go until the last
// request is done, reading each request's output as it finishes. Between
// steps it samples the engine's gauges, at most every gaugeEvery and so
// that reading them (get_metrics collects every metric, tens of ms on a
// CPU) takes at most 1/gaugeBudget of the pass. Elapsed runs
// from before the first request is added to the return of the step that
// delivered the last output.
func (e *Engine) Stream(ctx context.Context, prompts [][]int, params []workload.Sampling, gaugeEvery time.Duration) (*Generation, metrics.EngineGauges, error) {
	if len(prompts) != len(params) {
		return nil, metrics.EngineGauges{}, fmt.Errorf("stream: %d prompts but %d sampling params", len(prompts), len(params))
	}
	g := &Generation{Requests: make([]metrics.Request, len(prompts))}
	var gauges metrics.EngineGauges
	err := e.in.Do(ctx, func(s *pyembed.Scope) error {
		buildStart := time.Now()
		batch, err := e.buildRequests(s, prompts, params, true)
		if err != nil {
			return err
		}
		core, err := s.Object(e.llm).Attr("llm_engine")
		if err != nil {
			return err
		}
		addRequest, err := core.Attr("add_request")
		if err != nil {
			return err
		}
		step, err := core.Attr("step")
		if err != nil {
			return err
		}
		unfinished, err := core.Attr("has_unfinished_requests")
		if err != nil {
			return err
		}
		clock, err := monotonic(s)
		if err != nil {
			return err
		}
		g.Build = time.Since(buildStart)

		t0, err := callFloat(clock)
		if err != nil {
			return err
		}
		start := time.Now()
		for i := range prompts {
			if _, err := addRequest.Call([]any{strconv.Itoa(i), batch.prompts[i], batch.params[i]}, nil); err != nil {
				return fmt.Errorf("add request %d: %w", i, err)
			}
		}
		done, nextGauge := 0, time.Now()
		for done < len(prompts) {
			if err := ctx.Err(); err != nil {
				return err
			}
			more, err := unfinished.Call(nil, nil)
			if err != nil {
				return err
			}
			if v, err := more.Go(); err != nil || v != true {
				return fmt.Errorf("engine has no unfinished requests but %d of %d outputs are missing", len(prompts)-done, len(prompts))
			}
			outputs, err := step.Call(nil, nil)
			if err != nil {
				return fmt.Errorf("engine step: %w", err)
			}
			n, err := outputs.Len()
			if err != nil {
				return err
			}
			for k := range n {
				ro, err := outputs.Index(k)
				if err != nil {
					return err
				}
				i, err := requestIndex(ro, len(prompts))
				if err != nil {
					return err
				}
				if g.Requests[i], err = readRequest(ro, t0); err != nil {
					return fmt.Errorf("request output %d: %w", i, err)
				}
				done++
			}
			progress.From(ctx).Samples(done, len(prompts))
			if now := time.Now(); !now.Before(nextGauge) && done < len(prompts) {
				m, err := e.readMetrics(s)
				if err != nil {
					return fmt.Errorf("sample engine gauges: %w", err)
				}
				took := time.Since(now)
				gauges.ReadS += took.Seconds()
				nextGauge = time.Now().Add(max(gaugeEvery, gaugeBudget*took))
				gauges.Samples++
				gauges.RunningPeak = max(gauges.RunningPeak, m[metrics.VLLMRunning])
				gauges.WaitingPeak = max(gauges.WaitingPeak, m[metrics.VLLMWaiting])
				gauges.KVCacheUsagePct = max(gauges.KVCacheUsagePct, 100*m[metrics.VLLMKVUsage])
			}
		}
		g.Elapsed = time.Since(start)
		return nil
	})
	if err != nil {
		return nil, gauges, err
	}
	return g, gauges, nil
}

func requestIndex(ro pyembed.Object, count int) (int, error) {
	id, err := ro.Attr("request_id")
	if err != nil {
		return 0, err
	}
	str, err := id.Str()
	if err != nil {
		return 0, err
	}
	i, err := strconv.Atoi(str)
	if err != nil || i < 0 || i >= count {
		return 0, fmt.Errorf("engine returned an output for request %q, which was not submitted", str)
	}
	return i, nil
}

// gaugeBudget bounds the share of a pass spent reading gauges to 1/50.
const gaugeBudget = 50

// monotonic is Python's time.monotonic, the clock the engine core stamps
// its outputs with (CLOCK_MONOTONIC, shared by every process on Linux).
func monotonic(s *pyembed.Scope) (pyembed.Object, error) {
	mod, err := s.Import("time")
	if err != nil {
		return pyembed.Object{}, err
	}
	return mod.Attr("monotonic")
}

func callFloat(fn pyembed.Object) (float64, error) {
	v, err := fn.Call(nil, nil)
	if err != nil {
		return 0, err
	}
	return v.Float()
}
