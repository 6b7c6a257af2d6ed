package profile

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// ReportSuffix names a trace's report: the trace's path with this appended.
const ReportSuffix = ".top.txt"

// WriteTop prints a short table of the operators of one trace.
func WriteTop(w io.Writer, trace string, t Top) {
	fmt.Fprintf(w, "%s\n", trace)
	if len(t.Ops) == 0 {
		fmt.Fprintf(w, "  no operators recorded\n")
		return
	}
	fmt.Fprintf(w, "  top %d operators by total %s time (total includes nested operators, self does not)\n", len(t.Ops), strings.ToUpper(t.Kind))
	fmt.Fprintf(w, "  %10s %10s %6s %8s  %s\n", "total ms", "self ms", "self %", "calls", "operator")
	for _, op := range t.Ops {
		share := 0.0
		if t.Busy > 0 {
			share = 100 * op.Self / t.Busy
		}
		fmt.Fprintf(w, "  %10.3f %10.3f %5.1f%% %8d  %s\n", op.Total/1e3, op.Self/1e3, share, op.Calls, op.Name)
	}
	if len(t.GEMMs) == 0 {
		fmt.Fprintf(w, "  matrix products: none of a known kernel (a trace of a generate should hold the model's)\n")
		return
	}
	var kernels []string
	for _, name := range GEMMNames(t.GEMMs) {
		kernels = append(kernels, fmt.Sprintf("%s x%d", name, t.GEMMs[name]))
	}
	fmt.Fprintf(w, "  matrix products: %s\n", strings.Join(kernels, ", "))
}

// Report reads a trace, writes its table next to it (trace + ReportSuffix)
// and returns the table and the report's path.
func Report(trace string, n int) (Top, string, error) {
	events, err := ReadTrace(trace)
	if err != nil {
		return Top{}, "", err
	}
	t := TopOps(events, n)
	path := trace + ReportSuffix
	f, err := os.Create(path)
	if err != nil {
		return t, "", fmt.Errorf("write trace report: %w", err)
	}
	WriteTop(f, trace, t)
	if err := f.Close(); err != nil {
		return t, "", fmt.Errorf("write trace report: %w", err)
	}
	return t, path, nil
}
