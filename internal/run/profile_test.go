//go:build !nopython

package run

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/pyembed"
	"github.com/rollbench/rollbench/python"
	"github.com/rollbench/rollbench/workload"
)

// TestDirectPass drives the direct profiler in a real embedded interpreter,
// with torch work standing in for the engine: a trace with the range and
// the operators, then a flush that fails because the directory was replaced
// by a file while the profiler ran.
func TestDirectPass(t *testing.T) {
	exe := os.Getenv("ROLLBENCH_PYTHON")
	if exe == "" {
		t.Fatal("ROLLBENCH_PYTHON is not set: run with make test")
	}
	src, err := python.Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	in, err := pyembed.Start(pyembed.Config{Python: exe, Path: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	ctx := context.Background()
	matmul := func(ctx context.Context, r workload.Rollout) error {
		return in.Do(ctx, func(s *pyembed.Scope) error {
			torch, err := s.Import("torch")
			if err != nil {
				return err
			}
			a, err := torch.CallMethod("ones", []any{r.InputLen, r.InputLen}, nil)
			if err != nil {
				return err
			}
			_, err = torch.CallMethod("mm", []any{a, a}, nil)
			return err
		})
	}
	opts := profile.Options{Backend: profile.Direct, Activities: []string{"cpu"}}
	newPass := func(dir string, generate func(context.Context, workload.Rollout) error) *profile.Pass {
		return &profile.Pass{Options: opts, Dir: dir, Rollout: workload.Default().Rollout, Generate: generate,
			Start: engineProfiler(in, nil, opts, dir), Range: engineRange(in), Top: 5}
	}
	steps := []profile.Step{{Action: profile.Start, Name: "a", Line: 1}, {Action: profile.Generate, Shape: &profile.Shape{InputLen: 8, Range: "matmul"}, Line: 2}, {Action: profile.Stop, Line: 3}}

	t.Run("trace", func(t *testing.T) {
		dir := t.TempDir()
		var rec profile.Record
		if err := newPass(dir, matmul).Run(ctx, steps, &rec); err != nil {
			t.Fatal(err)
		}
		if len(rec.Steps) != 3 || len(rec.Traces) != 1 {
			t.Fatalf("record: %d steps, %d traces", len(rec.Steps), len(rec.Traces))
		}
		events, err := profile.ReadTrace(rec.Traces[0].Path)
		if err != nil {
			t.Fatal(err)
		}
		names := make([]string, len(events))
		for i, e := range events {
			names[i] = e.Name
		}
		if !slices.Contains(names, "aten::mm") || !slices.Contains(names, "matmul") {
			t.Errorf("trace lacks aten::mm or the range")
		}
		report, err := os.ReadFile(rec.Traces[0].Report)
		if err != nil || !strings.Contains(string(report), "aten::mm") {
			t.Errorf("report: %v\n%s", err, report)
		}
	})

	t.Run("flush fails", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "traces")
		replaceDir := func(ctx context.Context, r workload.Rollout) error {
			if err := matmul(ctx, r); err != nil {
				return err
			}
			if err := os.Remove(dir); err != nil {
				return err
			}
			return os.WriteFile(dir, nil, 0o644)
		}
		var rec profile.Record
		err := newPass(dir, replaceDir).Run(ctx, steps, &rec)
		if err == nil || !strings.Contains(err.Error(), "step stop on line 3: stop profiler: stop(): RuntimeError: Can't create directory: "+dir) {
			t.Fatalf("error = %v", err)
		}
		if len(rec.Steps) != 3 || len(rec.Traces) != 0 {
			t.Errorf("record: %d steps, %d traces", len(rec.Steps), len(rec.Traces))
		}
	})
}
