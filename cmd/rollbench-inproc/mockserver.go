package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/rollbench/rollbench/internal/mockserver"
)

const mockServerUsage = `Usage: rollbench-inproc mock-server [--port 8000] [--tokens-per-second 0] [--ttft 0s]

Serves an OpenAI-compatible /v1/completions endpoint that streams dummy
tokens at a set pace, in vLLM's chunk format, to measure a client's own
ceiling (rollbench's or another tool's). It stands in for no engine: its
numbers say nothing about vLLM. Runs until interrupted.

Flags:
`

func runMockServer(ctx context.Context, args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("mock-server", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var opts mockserver.Options
	port := fs.Int("port", 8000, "port on 127.0.0.1 (0: a free one)")
	fs.Float64Var(&opts.TokensPerSecond, "tokens-per-second", 0, "decode pace of each request (0: as fast as possible)")
	fs.DurationVar(&opts.TTFT, "ttft", 0, "wait before each request's first token")
	fs.IntVar(&opts.OutputLen, "output-len", 16, "tokens per choice when a request gives no max_tokens")
	fs.StringVar(&opts.Model, "served-model-name", "", "the only model name accepted (default: any)")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("mock-server: %w", err)}
	}
	if *help {
		fmt.Fprint(stdout, mockServerUsage+fs.FlagUsages())
		return errHelp
	}
	if *port < 0 || *port > 65535 || opts.TokensPerSecond < 0 || opts.TTFT < 0 || opts.OutputLen < 1 {
		return usagef("mock-server: --port must be in 0..65535, --tokens-per-second and --ttft not negative, --output-len at least 1")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("mock-server: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	fmt.Fprintf(stdout, "mock server on http://%s (Ctrl-C to stop)\n", addr)
	if err := mockserver.New(opts).Serve(ctx, addr); err != nil {
		return fmt.Errorf("mock-server: %w", err)
	}
	return nil
}
