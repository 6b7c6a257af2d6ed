//go:build nopython

// A build without the embedded interpreter (make build-nopython, the way
// DataDog's agent builds without Python): summarize, mock-server, tiny-model
// and online runs, which run python only as a child process, work; the modes
// that run vLLM inside this process refuse in one line, with exit status 2.

package main

import (
	"context"
	"io"

	"github.com/rollbench/rollbench/internal/result"
)

// interpreter is never started in this build.
type interpreter struct{}

// embedded refuses the mode named by what (its subject and verb).
func embedded(what string) error {
	return usagef("%s Python: this binary was built without it (make build)", what)
}

func startInterpreter(string, bool) (*interpreter, error) { return nil, embedded("offline runs embed") }

func finalize(*interpreter) {}

func runOffline(context.Context, *interpreter, experiment) (*result.Offline, error) {
	return nil, embedded("offline runs embed")
}

func runPaired(context.Context, *interpreter, experiment) (*result.Paired, error) {
	return nil, embedded("paired runs embed")
}

func printTraceback(io.Writer, error) {}

func scoreSamples(context.Context, string, *result.Score, []result.Sample) error {
	return embedded("score embeds")
}

func (*diagnosticOptions) run(context.Context, io.Writer) error {
	return embedded("--diagnostic embeds")
}

func (*sessionOptions) run(context.Context, io.Writer) error {
	return embedded("profile sessions embed")
}
