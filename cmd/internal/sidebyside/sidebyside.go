// Package sidebyside holds what the commands that benchmark rollbench
// against vLLM's own tool share: the command's frame, a tiny model both
// tools load, the order runs alternate in, and the statistics of runs.
package sidebyside

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"gonum.org/v1/gonum/stat"
)

// Main runs a benchmark command: run gets the arguments and standard
// output; an error ends the process with status 1.
func Main(name string, run func(ctx context.Context, args []string, stdout io.Writer) error) {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// TinyModel writes rollbench's built-in tiny model (BF16) afresh into
// dir/tiny-bf16 and returns its absolute path: vLLM's tools need a model
// directory of their own to read.
func TinyModel(ctx context.Context, rollbench, dir string) (string, error) {
	model, err := filepath.Abs(filepath.Join(dir, "tiny-bf16"))
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(model); err != nil {
		return "", err
	}
	if out, err := exec.CommandContext(ctx, rollbench, "tiny-model", "--out", model).CombinedOutput(); err != nil {
		return "", fmt.Errorf("tiny model: %v\n%s", err, out)
	}
	return model, nil
}

// Order is the order the two tools go in at run i: alternating, so that
// neither always runs on a machine the other has just warmed.
func Order(i int, first, second string) []string {
	if i%2 == 1 {
		return []string{second, first}
	}
	return []string{first, second}
}

// Spread is the median of a figure over runs, with its extremes.
type Spread struct {
	Median, Min, Max float64
}

// SpreadOf summarizes xs, which must not be empty.
func SpreadOf(xs []float64) Spread {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return Spread{Median: stat.Quantile(0.5, stat.Empirical, s, nil), Min: s[0], Max: s[len(s)-1]}
}

// Median is the median of xs, which must not be empty.
func Median(xs []float64) float64 { return SpreadOf(xs).Median }

// Common are the options every side-by-side command takes.
type Common struct {
	Rollbench, VLLM, Out, LogDir string
	Runs                         int
}

// Register adds Common's flags to fs, with defaults for the command name
// (bench-offline writes benchmarks/offline.{json,md}, and so on).
func (c *Common) Register(fs *pflag.FlagSet, name string) {
	fs.StringVar(&c.Rollbench, "rollbench", "bin/rollbench-inproc", "rollbench-inproc binary")
	fs.StringVar(&c.VLLM, "vllm", ".venv/bin/vllm", "vllm CLI of the environment rollbench uses")
	fs.StringVar(&c.Out, "out", "benchmarks/"+strings.TrimPrefix(name, "bench-"), "output files' path without extension (.json, .md)")
	fs.StringVar(&c.LogDir, "log-dir", "benchmark_logs/"+name, "directory for each run's output")
	fs.IntVar(&c.Runs, "runs", 3, "runs of each tool (of each setting)")
}
