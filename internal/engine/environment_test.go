package engine

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/sys"
)

// fakePython is a shell script standing in for python: it ignores its
// arguments and runs body.
func fakePython(t *testing.T, body string) ChildPython {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "python")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return ChildPython{Exe: exe, Path: t.TempDir()}
}

func TestChildDescribe(t *testing.T) {
	const found = `{"python": "3.11", "vllm": "0.32.0", "torch": "2.9.0", "platform": "cpu", "device_name": "cpu", "device_count": 1, "vllm_v1_multiprocessing": true, "vllm_worker_multiproc_method": "spawn"}`
	for _, tc := range []struct {
		name, body string
		want       sys.Environment
		err        string
	}{
		{"found", "echo '" + found + "'",
			sys.Environment{Python: "3.11", VLLM: "0.32.0", Torch: "2.9.0", Platform: "cpu", DeviceName: "cpu", DeviceCount: 1,
				Multiprocessing: true, WorkerMethod: "spawn"}, ""},
		{"an import prints first", "echo 'INFO platform detected'; echo; echo '" + found + "'",
			sys.Environment{Python: "3.11", VLLM: "0.32.0", Torch: "2.9.0", Platform: "cpu", DeviceName: "cpu", DeviceCount: 1,
				Multiprocessing: true, WorkerMethod: "spawn"}, ""},
		{"no vllm", `echo '{"python": "3.11", "vllm_missing": "No module named '"'vllm'"'"}'`,
			sys.Environment{Python: "3.11"}, "cannot import vllm (No module named 'vllm'); install vLLM there or choose another interpreter with --python"},
		{"an exception", "echo 'Traceback (most recent call last):' >&2; echo 'ImportError: libcudart.so.12' >&2; exit 1",
			sys.Environment{}, "exit status 1: ImportError: libcudart.so.12"},
		{"not JSON", "echo 'hello'", sys.Environment{}, "read the description of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			py := fakePython(t, tc.body)
			t.Setenv("PYTHONPATH", "")
			env, err := py.Describe(context.Background())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			// Go fills the machine's half whatever the python said.
			if env.Executable != py.Exe || env.CPUCount == 0 || env.OS == "" || env.Env == nil {
				t.Errorf("machine not described: %+v", env)
			}
			env.Executable, env.CPUModel, env.CPUCount, env.Hostname, env.OS, env.Env = "", "", 0, "", "", nil
			if !reflect.DeepEqual(env, tc.want) {
				t.Errorf("got %+v, want %+v", env, tc.want)
			}
		})
	}
}

// TestChildPythonPath: the child imports the shipped package first and
// keeps the user's own path after it.
func TestChildPythonPath(t *testing.T) {
	py := fakePython(t, `echo "$PYTHONPATH"`)
	t.Setenv("PYTHONPATH", "/user/site")
	out, err := py.run(context.Background(), "-m", "anything")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), py.Path+":/user/site"; got != want {
		t.Errorf("PYTHONPATH %q, want %q", got, want)
	}
}
