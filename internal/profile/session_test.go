package profile

import (
	"flag"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/golden"
	"github.com/rollbench/rollbench/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestLoadSession(t *testing.T) {
	s, err := LoadSession(filepath.Join("testdata", "sessions", "two_shapes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Session{
		Profiler: Options{Backend: Direct, Activities: []string{"cpu"}, RecordShapes: true},
		Steps: []Step{
			{Action: Warmup, Shape: &Shape{NumPrompts: 1, OutputLen: 4}, Line: 7},
			{Action: Start, Name: "short", Line: 8},
			{Action: Generate, Shape: &Shape{NumPrompts: 2, N: 2, OutputLen: 8, Range: "short-decode"}, Line: 9},
			{Action: Stop, Line: 10},
			{Action: Start, Name: "long", Line: 11},
			{Action: Generate, Shape: &Shape{NumPrompts: 1, N: 2, OutputLen: 24}, Line: 12},
			{Action: Stop, Line: 13},
		},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("LoadSession =\n%+v\nwant\n%+v", s, want)
	}
}

// TestSessionErrors keeps every malformed file's message in a golden file:
// each names the file, the line and the reason.
func TestSessionErrors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "sessions", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, f := range files {
		if filepath.Base(f) == "two_shapes.yaml" {
			continue
		}
		_, err := LoadSession(f)
		if err == nil {
			t.Errorf("%s: no error", f)
			continue
		}
		got.WriteString(err.Error() + "\n")
	}
	golden.Check(t, filepath.Join("testdata", "session_errors.golden"), []byte(got.String()), *update)
}

func TestShapeRollout(t *testing.T) {
	base := Shape{NumPrompts: 4, N: 8, InputLen: 32, OutputLen: 16}.Rollout(workload.Default().Rollout)
	got := Shape{N: 2, OutputLen: 5}.Rollout(base)
	if got.NumPrompts != 4 || got.N != 2 || got.InputLen != 32 || got.OutputLen != 5 || got.Seed != base.Seed {
		t.Errorf("Rollout = %+v", got)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Defaults(), ""},
		{Options{Backend: Direct, Activities: []string{"cpu", "npu"}, NPULevel: "Level2", AICMetrics: "PipeUtilization"}, ""},
		{Options{Backend: "nsight", Activities: []string{"cpu"}}, `backend must be vllm or direct, got "nsight"`},
		{Options{Backend: VLLM}, "activities: none given"},
		{Options{Backend: VLLM, Activities: []string{"gpu"}}, `unknown activity "gpu"`},
		{Options{Backend: Direct, Activities: []string{"cuda", "npu"}}, "cuda and npu exclude each other"},
		{Options{Backend: Direct, Activities: []string{"npu"}, NPULevel: "Level9"}, `unknown level "Level9"`},
		{Options{Backend: Direct, Activities: []string{"npu"}, AICMetrics: "Flops"}, `unknown metrics "Flops"`},
		{Options{Backend: VLLM, Activities: []string{"npu"}, NPULevel: "Level1"}, "npu-level needs backend direct and activity npu"},
	}
	for _, tt := range tests {
		err := tt.o.Validate()
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: Validate() = %v, want %q", tt.o, err, tt.want)
		}
	}
}
