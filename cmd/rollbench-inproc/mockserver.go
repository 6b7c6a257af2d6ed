package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/rollbench/rollbench/internal/mockserver"
)

const mockServerUsage = `Usage: rollbench-inproc mock-server [--port 8000] [--tokens-per-second 0] [--ttft 0s]

Serves an OpenAI-compatible /v1/completions endpoint that streams dummy
tokens at a set pace, in vLLM's chunk format, to measure a client's own
ceiling (rollbench's or another tool's). It stands in for no engine: its
numbers say nothing about vLLM. Runs until interrupted.
`

// mockServerOptions serve dummy tokens: `mock-server`.
type mockServerOptions struct {
	port   int
	server mockserver.Options
}

func (o *mockServerOptions) Validate() error {
	if o.port < 0 || o.port > 65535 || o.server.TokensPerSecond < 0 || o.server.TTFT < 0 || o.server.OutputLen < 1 {
		return usagef("mock-server: --port must be in 0..65535, --tokens-per-second and --ttft not negative, --output-len at least 1")
	}
	return nil
}

func (o *mockServerOptions) run(ctx context.Context, stdout io.Writer) error {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.port)))
	if err != nil {
		return fmt.Errorf("mock-server: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	fmt.Fprintf(stdout, "mock server on http://%s (Ctrl-C to stop)\n", addr)
	if err := mockserver.New(o.server).Serve(ctx, addr); err != nil {
		return fmt.Errorf("mock-server: %w", err)
	}
	return nil
}
