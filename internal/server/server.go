// Package server starts `vllm serve` with an experiment's engine arguments,
// waits until it is ready, and stops it with its whole process tree, on
// success, failure or interruption alike.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rollbench/rollbench/internal/sys"
)

// Config says how to start the server.
type Config struct {
	// Python is the interpreter whose vllm serves.
	Python string
	// Args are LLM(...) arguments under vLLM's names; "model" is the
	// checkpoint. They become `vllm serve` flags.
	Args map[string]any
	// Extra are further command-line arguments, passed as they are.
	Extra []string
	Host  string
	// Port 0 picks a free one.
	Port int
	// Output receives the server's output; nil is this process's
	// standard error, which the caller may have pointed at a log file.
	Output io.Writer
	// ReadyTimeout bounds the wait for /health.
	ReadyTimeout time.Duration
}

// Server is a running `vllm serve`.
type Server struct {
	// URL is the base address, http://host:port.
	URL    string
	Argv   []string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// Flags turns engine arguments into `vllm serve` flags: snake_case names
// become --kebab-case, true a bare flag, false its --no- form, maps and
// lists JSON. The model is the positional argument. Sorted, so the command
// line is reproducible.
func Flags(args map[string]any) (model string, flags []string, err error) {
	model, _ = args["model"].(string)
	if model == "" {
		return "", nil, errors.New("no model to serve")
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		if k != "model" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := "--" + strings.ReplaceAll(k, "_", "-")
		switch v := args[k].(type) {
		case bool:
			if v {
				flags = append(flags, name)
			} else {
				flags = append(flags, "--no-"+strings.TrimPrefix(name, "--"))
			}
		case string:
			flags = append(flags, name, v)
		case int, int64:
			flags = append(flags, name, fmt.Sprint(v))
		case float64:
			// JSON-decoded integers arrive as floats: no exponent form.
			flags = append(flags, name, strconv.FormatFloat(v, 'f', -1, 64))
		case nil:
		default:
			data, err := json.Marshal(v)
			if err != nil {
				return "", nil, fmt.Errorf("engine argument %s: %w", k, err)
			}
			flags = append(flags, name, string(data))
		}
	}
	return model, flags, nil
}

// Start launches the server in a process group of its own and waits until
// /health answers 200. On failure the server is stopped; why it failed is
// in its output.
func Start(ctx context.Context, c Config) (*Server, error) {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	port, err := choosePort(c.Host, c.Port)
	if err != nil {
		return nil, err
	}
	model, flags, err := Flags(c.Args)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(c.Python); err != nil {
		return nil, fmt.Errorf("server: python executable: %w", err)
	}
	argv := append([]string{c.Python, "-m", "vllm.entrypoints.cli.main", "serve", model,
		"--host", c.Host, "--port", strconv.Itoa(port)}, flags...)
	argv = append(argv, c.Extra...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = c.Output, c.Output
	if c.Output == nil {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	s := &Server{URL: fmt.Sprintf("http://%s", net.JoinHostPort(c.Host, strconv.Itoa(port))), Argv: argv,
		cmd: cmd, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, c.ReadyTimeout); err != nil {
		s.Stop(10 * time.Second)
		return nil, err
	}
	return s, nil
}

// choosePort returns port, or a free one for 0, after checking that it is
// free: a server that fails to bind says so only deep in its log.
func choosePort(host string, port int) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("--port %d: %s:%d is in use (choose another, or --port 0 for a free one)", port, host, port)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/health", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("vllm serve %s during start-up", sys.Ended(s.err))
		case <-ctx.Done():
			return fmt.Errorf("vllm serve start-up: %w", context.Cause(ctx))
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vllm serve was not ready within %s", timeout)
		}
	}
}

// Alive reports whether the server process is still running.
func (s *Server) Alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// ExitsWithin reports whether the server process has exited, or exits
// within d.
func (s *Server) ExitsWithin(d time.Duration) bool {
	select {
	case <-s.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// Stop asks the server to shut down (SIGTERM to its group), then kills
// whatever of its tree is left after grace.
func (s *Server) Stop(grace time.Duration) {
	pid := s.cmd.Process.Pid
	tree := sys.Descendants(pid)
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(grace):
	}
	sys.KillGroup(pid, tree)
	<-s.exited
}
