//go:build !nopython

package engine

import (
	"context"
	"fmt"

	"github.com/rollbench/rollbench/pyembed"
)

// StartProfile calls LLM.start_profile: the engine's workers start the
// profiler its profiler_config describes, naming their traces after prefix.
func (e *Engine) StartProfile(ctx context.Context, prefix string) error {
	err := e.in.Do(ctx, func(s *pyembed.Scope) error {
		_, err := s.Object(e.llm).CallMethod("start_profile", []any{prefix}, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("start vLLM's profiler: %w", err)
	}
	return nil
}

// StopProfile calls LLM.stop_profile, which returns once the workers have
// written their traces.
func (e *Engine) StopProfile(ctx context.Context) error {
	err := e.in.Do(ctx, func(s *pyembed.Scope) error {
		_, err := s.Object(e.llm).CallMethod("stop_profile", nil, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("stop vLLM's profiler: %w", err)
	}
	return nil
}

// Profiler is a torch (or torch_npu) profiler running in the embedding
// process, started by rollbench.profiling.
type Profiler struct {
	in      *pyembed.Interpreter
	session *pyembed.Handle
}

// StartProfiler starts the direct profiler with rollbench.profiling.start's
// keyword arguments.
func StartProfiler(ctx context.Context, in *pyembed.Interpreter, kwargs map[string]any) (*Profiler, error) {
	p := &Profiler{in: in}
	err := in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.profiling")
		if err != nil {
			return err
		}
		session, err := m.CallMethod("start", nil, kwargs)
		if err != nil {
			return err
		}
		p.session = session.Keep()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("start profiler: %w", err)
	}
	return p, nil
}

// Stop stops the profiler and flushes its trace. It runs even when ctx is
// done, so that a started profiler is never left recording.
func (p *Profiler) Stop(ctx context.Context) error {
	if p.session == nil {
		return nil
	}
	err := p.in.Do(context.WithoutCancel(ctx), func(s *pyembed.Scope) error {
		_, err := s.Object(p.session).CallMethod("stop", nil, nil)
		return err
	})
	p.session.Release()
	p.session = nil
	if err != nil {
		return fmt.Errorf("stop profiler: %w", err)
	}
	return nil
}

// Range is a named range (torch.profiler.record_function) open in the
// embedding process's trace.
type Range struct {
	in *pyembed.Interpreter
	rf *pyembed.Handle
}

// EnterRange opens a range named name.
func EnterRange(ctx context.Context, in *pyembed.Interpreter, name string) (*Range, error) {
	r := &Range{in: in}
	err := in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.profiling")
		if err != nil {
			return err
		}
		rf, err := m.CallMethod("enter_range", []any{name}, nil)
		if err != nil {
			return err
		}
		r.rf = rf.Keep()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enter range %q: %w", name, err)
	}
	return r, nil
}

// Exit closes the range.
func (r *Range) Exit(ctx context.Context) error {
	err := r.in.Do(context.WithoutCancel(ctx), func(s *pyembed.Scope) error {
		m, err := s.Import("rollbench.profiling")
		if err != nil {
			return err
		}
		_, err = m.CallMethod("exit_range", []any{s.Object(r.rf)}, nil)
		return err
	})
	r.rf.Release()
	if err != nil {
		return fmt.Errorf("exit range: %w", err)
	}
	return nil
}

// CheckNPUProfiler fails unless the interpreter can import torch_npu, which
// NPU profiling needs; it runs before anything is measured.
func CheckNPUProfiler(ctx context.Context, in *pyembed.Interpreter) error {
	err := in.Do(ctx, func(s *pyembed.Scope) error {
		_, err := s.Import("torch_npu")
		return err
	})
	if err != nil {
		return fmt.Errorf("NPU profiling needs torch_npu, which %s cannot import: %w", in.Info().Executable, err)
	}
	return nil
}
