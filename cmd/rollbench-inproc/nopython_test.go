package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildNoPython builds this command without the interpreter, as make
// build-nopython does, into the test's own directory.
func buildNoPython(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the nopython binary with")
	}
	bin := filepath.Join(t.TempDir(), "rollbench-inproc-nopython")
	cmd := exec.Command(goCmd, "build", "-tags", "nopython", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags nopython: %v\n%s", err, out)
	}
	return bin
}

// run1 is how one run of a binary ended.
type run1 struct {
	stdout, stderr string
	code           int
}

// runCommand runs bin with args and env added to this process's
// environment; a status other than 0 is a result, not a failure.
func runCommand(ctx context.Context, t *testing.T, bin string, env []string, args ...string) run1 {
	t.Helper()
	return startCommand(ctx, t, bin, env, args...).wait(t)
}

// started is a run of a binary under way, with its output kept.
type started struct {
	*exec.Cmd
	stdout, stderr bytes.Buffer
}

// startCommand starts bin as runCommand runs it.
func startCommand(ctx context.Context, t *testing.T, bin string, env []string, args ...string) *started {
	t.Helper()
	s := &started{Cmd: exec.CommandContext(ctx, bin, args...)}
	s.Env = append(os.Environ(), env...)
	s.Stdout, s.Stderr = &s.stdout, &s.stderr
	if err := s.Start(); err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return s
}

// wait waits for the run to end.
func (s *started) wait(t *testing.T) run1 {
	t.Helper()
	err := s.Wait()
	r := run1{stdout: s.stdout.String(), stderr: s.stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", s.Args[1:], err)
	}
	return r
}

// TestNoPythonBuild checks the binary built without the interpreter. It
// summarizes the report tests' folders exactly as this build (the test's
// own, run in-process) does: same output, same files written, pictures
// included. It refuses in one line each mode that embeds Python, and
// describes an online run's environment through a child python.
func TestNoPythonBuild(t *testing.T) {
	bin := buildNoPython(t)
	// Nothing below may use the cache; an offline run would fill it first.
	cache := t.TempDir()
	env := []string{"ROLLBENCH_CACHE=" + cache}

	t.Run("summarize", func(t *testing.T) {
		folders, _ := filepath.Glob(filepath.Join("..", "..", "internal", "report", "testdata", "*"))
		if len(folders) < 5 {
			t.Fatalf("%d golden folders, want at least 5", len(folders))
		}
		for _, src := range folders {
			for _, format := range []struct{ flag, ext string }{{"", "txt"}, {"--markdown", "md"}, {"--csv", "csv"}} {
				name := filepath.Base(src) + "/" + format.ext
				// Both builds summarize the same path, which the output
				// names where a file is not summarized.
				dir := filepath.Join(t.TempDir(), "r")
				fresh := func() {
					if err := os.RemoveAll(dir); err != nil {
						t.Fatal(err)
					}
					if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
						t.Fatal(err)
					}
				}
				args := []string{"summarize", dir}
				if format.flag != "" {
					args = append(args, format.flag)
				}
				fresh()
				var stdout, stderr bytes.Buffer
				if code := exitCode(run(context.Background(), args, &stdout, &stderr), &stderr); code != 0 {
					t.Fatalf("%s: this build exits %d: %s", name, code, stderr.String())
				}
				full := readFiles(t, dir)
				fresh()
				r := runCommand(context.Background(), t, bin, env, args...)
				if r.code != 0 || r.stderr != "" {
					t.Errorf("%s: exit %d, stderr %q", name, r.code, r.stderr)
				}
				if r.stdout != stdout.String() {
					t.Errorf("%s: output differs from this build's:\n--- nopython\n%s\n--- this build\n%s", name, r.stdout, stdout.String())
				}
				sameFiles(t, name, full, readFiles(t, dir))
			}
		}
	})

	t.Run("refusals", func(t *testing.T) {
		// A python is named so that the refusal, not the missing default,
		// is what stops each run; none of them starts it.
		env := append(env, "ROLLBENCH_PYTHON=/nonexistent/python")
		const without = " Python: this binary was built without it (make build)\n"
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--num-prompts", "2"}, "offline runs embed"},
			{[]string{"--config", "../../configs/tiny.yaml"}, "offline runs embed"},
			{[]string{"--profile"}, "offline runs embed"},
			{[]string{"--diagnostic"}, "--diagnostic embeds"},
			{[]string{"profile", "--session", "../../configs/profile-session.yaml"}, "profile sessions embed"},
		} {
			r := runCommand(context.Background(), t, bin, env, tc.args...)
			if want := "rollbench-inproc: " + tc.want + without; r.code != 2 || r.stderr != want || r.stdout != "" {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, r.code, r.stdout, r.stderr, want)
			}
		}
		if entries, _ := os.ReadDir(cache); len(entries) > 0 {
			t.Errorf("a refused run wrote to the cache: %v", entries)
		}
	})

	t.Run("help", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--help"}, "Usage: rollbench-inproc [flags]"},
			{[]string{"summarize", "--help"}, "Usage: rollbench-inproc summarize DIR"},
			{[]string{"mock-server", "--help"}, "Usage: rollbench-inproc mock-server"},
			{[]string{"tiny-model", "--help"}, "Usage: rollbench-inproc tiny-model"},
		} {
			r := runCommand(context.Background(), t, bin, env, tc.args...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, tc.want) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q", tc.args, r.code, r.stdout, r.stderr)
			}
		}
	})

	t.Run("online describes through a child python", func(t *testing.T) {
		dir := t.TempDir()
		// A stand-in python that answers rollbench.environment as one
		// without vllm does.
		python := filepath.Join(dir, "python")
		script := "#!/bin/sh\necho '{\"python\": \"3.11\", \"vllm_missing\": \"No module named '\"'\"'vllm'\"'\"'\"}'\n"
		model := filepath.Join(dir, "model")
		if err := os.WriteFile(python, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(model, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(model, "config.json"), []byte(`{"model_type": "qwen3"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runCommand(context.Background(), t, bin, env, "--online", "--enforce-eager", "--python", python, "--model", model,
			"--output-dir", filepath.Join(dir, "out"), "--log-dir", filepath.Join(dir, "logs"))
		if want := python + " cannot import vllm (No module named 'vllm')"; r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, want)
		}
		if _, err := os.Stat(filepath.Join(dir, "out", "model_bf16.json")); err != nil {
			t.Errorf("no failed result: %v", err)
		}
	})
}

// readFiles reads every file in dir.
func readFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	return files
}

// sameFiles fails unless the builds wrote the same files with the same
// bytes.
func sameFiles(t *testing.T, name string, full, nopy map[string][]byte) {
	t.Helper()
	for f, data := range full {
		if other, ok := nopy[f]; !ok {
			t.Errorf("%s: the nopython build did not write %s", name, f)
		} else if !bytes.Equal(data, other) {
			t.Errorf("%s: %s differs between the builds", name, f)
		}
	}
	for f := range nopy {
		if _, ok := full[f]; !ok {
			t.Errorf("%s: only the nopython build wrote %s", name, f)
		}
	}
}
