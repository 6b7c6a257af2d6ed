package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFlags(t *testing.T) {
	model, flags, err := Flags(map[string]any{
		"model":                  "/m",
		"max_num_seqs":           1024,
		"gpu_memory_utilization": 0.4,
		"enforce_eager":          true,
		"enable_prefix_caching":  false,
		"dtype":                  "bfloat16",
		"kv_cache_memory_bytes":  float64(1 << 30),
		"additional_config":      map[string]any{"rl_config": map[string]any{"a": 1}},
		"quantization":           nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "--additional-config {\"rl_config\":{\"a\":1}} --dtype bfloat16 --no-enable-prefix-caching --enforce-eager " +
		"--gpu-memory-utilization 0.4 --kv-cache-memory-bytes 1073741824 --max-num-seqs 1024"
	if model != "/m" || strings.Join(flags, " ") != want {
		t.Errorf("Flags = %q %q\nwant %q", model, strings.Join(flags, " "), want)
	}
	if _, _, err := Flags(map[string]any{"dtype": "auto"}); err == nil {
		t.Error("no model accepted")
	}
}

func TestStartRefuses(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"port in use", Config{Python: "/bin/true", Args: map[string]any{"model": "/m"}, Port: port},
			"is in use (choose another, or --port 0 for a free one)"},
		{"missing python", Config{Python: filepath.Join(dir, "python"), Args: map[string]any{"model": "/m"}},
			"python executable: stat " + filepath.Join(dir, "python") + ": no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(context.Background(), tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// A stand-in for a server that dies during start-up: a script that prints
// and exits. Its death is seen, and what it printed reaches the output.
func TestStartupDeath(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "python")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'loading model'\necho 'ValueError: no such architecture' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	start := time.Now()
	_, err := Start(context.Background(), Config{Python: fake, Args: map[string]any{"model": "/m"}, Output: &out, ReadyTimeout: time.Minute})
	if err == nil || err.Error() != "vllm serve exited with status 1 during start-up" {
		t.Fatalf("got %v", err)
	}
	if got, want := out.String(), "loading model\nValueError: no such architecture\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("noticing the death took %v", time.Since(start))
	}
}

// A start-up that is interrupted stops the server and says why.
func TestInterruptedStartup(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "python")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'loading model'\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(200*time.Millisecond, func() { cancel(errors.New("interrupted by SIGINT during server")) })
	start := time.Now()
	_, err := Start(ctx, Config{Python: fake, Args: map[string]any{"model": "/m"}, Output: io.Discard, ReadyTimeout: time.Minute})
	if err == nil || err.Error() != "vllm serve start-up: interrupted by SIGINT during server" {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("stopping took %v", time.Since(start))
	}
}

// ExitsWithin waits for an exit that is on its way, and no longer than
// asked for one that is not.
func TestExitsWithin(t *testing.T) {
	s := &Server{exited: make(chan struct{})}
	if s.ExitsWithin(10 * time.Millisecond) {
		t.Error("a running server exited")
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		close(s.exited)
	}()
	start := time.Now()
	if !s.ExitsWithin(5 * time.Second) {
		t.Error("the exit was not seen")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("seeing the exit took %v", took)
	}
	if s.Alive() {
		t.Error("an exited server is alive")
	}
}
