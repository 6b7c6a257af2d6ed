package profile

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/golden"
)

func TestTopOps(t *testing.T) {
	tests := []struct {
		trace string
		n     int
		want  Top
	}{
		{"cpu_trace.json", 0, Top{Kind: "cpu", Busy: 110, Ops: []Op{
			{Name: "aten::linear", Calls: 2, Total: 70, Self: 20},
			{Name: "aten::addmm", Calls: 2, Total: 45, Self: 45},
			{Name: "aten::mm", Calls: 1, Total: 40, Self: 40},
			{Name: "aten::t", Calls: 1, Total: 5, Self: 5},
		}, GEMMs: map[string]int{"aten::linear": 2, "aten::addmm": 2, "aten::mm": 1}}},
		{"cpu_trace.json.gz", 2, Top{Kind: "cpu", Busy: 110, Ops: []Op{
			{Name: "aten::linear", Calls: 2, Total: 70, Self: 20},
			{Name: "aten::addmm", Calls: 2, Total: 45, Self: 45},
		}, GEMMs: map[string]int{"aten::linear": 2, "aten::addmm": 2, "aten::mm": 1}}},
		// Device kernels win over the host's operators when there are any.
		{"device_trace.json", 0, Top{Kind: "device", Busy: 130, Ops: []Op{
			{Name: "gemm_kernel", Calls: 2, Total: 100, Self: 100},
			{Name: "Memcpy HtoD", Calls: 1, Total: 30, Self: 30},
		}, GEMMs: map[string]int{"aten::mm": 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.trace, func(t *testing.T) {
			events, err := ReadTrace(filepath.Join("testdata", tt.trace))
			if err != nil {
				t.Fatal(err)
			}
			if got := TopOps(events, tt.n); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TopOps =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestReadTraceErrors(t *testing.T) {
	dir := t.TempDir()
	notTrace := filepath.Join(dir, "object.json")
	os.WriteFile(notTrace, []byte(`{"other": 1}`), 0o644)
	notGzip := filepath.Join(dir, "plain.json.gz")
	os.WriteFile(notGzip, []byte(`{"traceEvents": []}`), 0o644)
	tests := []struct{ path, want string }{
		{filepath.Join("testdata", "truncated.json"), "not a Chrome trace: event 1"},
		{notTrace, "not a Chrome trace: no traceEvents"},
		{notGzip, "gzip: invalid header"},
		{filepath.Join(dir, "missing.json"), "no such file"},
	}
	for _, tt := range tests {
		if _, err := ReadTrace(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadTrace(%s) error = %v, want it to contain %q", tt.path, err, tt.want)
		}
	}
}

func TestReportWritesNextToTrace(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "cpu_trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(dir, "w.pt.trace.json")
	os.WriteFile(trace, data, 0o644)
	_, path, err := Report(trace, 3)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The golden file names the trace TRACE, as its path is a temporary one.
	golden.Check(t, filepath.Join("testdata", "cpu_trace.top.golden"), []byte(strings.ReplaceAll(string(got), trace, "TRACE")), *update)
	for _, other := range []string{"profiler_info.json", "w.pt.trace.json.top.txt"} {
		os.WriteFile(filepath.Join(dir, other), []byte("{}"), 0o644)
	}
	traces, err := FindTraces(dir)
	if err != nil || !reflect.DeepEqual(traces, []string{trace}) {
		t.Errorf("FindTraces = %v, %v; want only the trace, not its report or other JSON", traces, err)
	}
}

// TestGEMMs reads traces recorded from real vLLM CPU generates on the tiny
// model (scripts/record-gemm-traces.py): on this project's AVX512-BF16 host
// vLLM runs its GEMMs through oneDNN, on a host whose kernels lack it
// through torch's F.linear; a W8A8 checkpoint through oneDNN's int8 kernel.
// Every kind holds the model's matrix products, and a trace without them
// holds none.
func TestGEMMs(t *testing.T) {
	tests := []struct {
		trace string
		want  map[string]int
	}{
		{"bf16-host", map[string]int{"_C::onednn_mm": 9}},
		{"bf16-fallback", map[string]int{"aten::linear": 9, "aten::matmul": 9, "aten::mm": 9}},
		{"w8a8-host", map[string]int{"_C::onednn_scaled_mm": 8, "_C::onednn_mm": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.trace, func(t *testing.T) {
			events, err := ReadTrace(filepath.Join("testdata", "gemm", tt.trace+".pt.trace.json.gz"))
			if err != nil {
				t.Fatal(err)
			}
			if got := GEMMs(events); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GEMMs = %v, want %v", got, tt.want)
			}
			// The report names the kernel among the top operators.
			top := TopOps(events, 10)
			var b strings.Builder
			WriteTop(&b, tt.trace, top)
			for name := range tt.want {
				if !strings.Contains(b.String(), "matrix products: ") || !strings.Contains(b.String(), name+" x") {
					t.Errorf("report lacks %s:\n%s", name, b.String())
				}
			}
			if tt.trace == "bf16-host" && !slices.ContainsFunc(top.Ops, func(op Op) bool { return op.Name == "_C::onednn_mm" }) {
				t.Errorf("_C::onednn_mm not among the top 10 operators: %+v", top.Ops)
			}
			// Without the model's work the same trace has no GEMM, and the
			// report says so.
			var rest []Event
			for _, e := range events {
				if !gemmOps[e.Name] {
					rest = append(rest, e)
				}
			}
			if got := GEMMs(rest); len(got) != 0 {
				t.Errorf("a trace without matrix products gave %v", got)
			}
			b.Reset()
			WriteTop(&b, tt.trace, TopOps(rest, 10))
			if !strings.Contains(b.String(), "matrix products: none") {
				t.Errorf("report of a trace without GEMMs:\n%s", b.String())
			}
		})
	}
}
