package profile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
		}}},
		{"cpu_trace.json.gz", 2, Top{Kind: "cpu", Busy: 110, Ops: []Op{
			{Name: "aten::linear", Calls: 2, Total: 70, Self: 20},
			{Name: "aten::addmm", Calls: 2, Total: 45, Self: 45},
		}}},
		// Device kernels win over the host's operators when there are any.
		{"device_trace.json", 0, Top{Kind: "device", Busy: 130, Ops: []Op{
			{Name: "gemm_kernel", Calls: 2, Total: 100, Self: 100},
			{Name: "Memcpy HtoD", Calls: 1, Total: 30, Self: 30},
		}}},
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
	golden := filepath.Join("testdata", "cpu_trace.top.golden")
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != strings.ReplaceAll(string(want), "TRACE", trace) {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
	for _, other := range []string{"profiler_info.json", "w.pt.trace.json.top.txt"} {
		os.WriteFile(filepath.Join(dir, other), []byte("{}"), 0o644)
	}
	traces, err := FindTraces(dir)
	if err != nil || !reflect.DeepEqual(traces, []string{trace}) {
		t.Errorf("FindTraces = %v, %v; want only the trace, not its report or other JSON", traces, err)
	}
}
