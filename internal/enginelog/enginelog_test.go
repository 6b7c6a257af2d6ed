package enginelog

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestFindInRecordedLogs reads logs vLLM 0.32 (CPU) wrote for engines that
// failed, recorded from rollbench's runs on the tiny model: each golden
// file is the cause found in its log.
//   - dynamo_disabled_not_eager: TORCHDYNAMO_DISABLE=1 without
//     --enforce-eager; the worker's aot_compile error, which its engine
//     core and the front end repeat as symptoms.
//   - corrupted_weights: model.safetensors cut to 4096 bytes.
//   - kv_cache_too_small: --kv-cache-memory 64KiB; the engine core's own
//     ValueError, with no worker traceback.
//   - serve_noarch: vllm serve of a config naming an unknown architecture;
//     the server's unprefixed traceback, a pydantic ValidationError.
func TestFindInRecordedLogs(t *testing.T) {
	logs, _ := filepath.Glob("testdata/*.log")
	if len(logs) < 4 {
		t.Fatalf("want the 4 recorded logs, found %d", len(logs))
	}
	for _, path := range logs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := Find(data)
			if !ok {
				t.Fatal("no cause found")
			}
			golden.Check(t, strings.TrimSuffix(path, ".log")+".golden", []byte(c.String()+"\n"), *update)
		})
	}
}

func TestFind(t *testing.T) {
	const head = "(EngineCore pid=7) ERROR 12-02 15:12:05 [core.py:1510] "
	for _, tc := range []struct {
		name, log string
		want      Cause
		ok        bool
	}{
		{"nothing", "INFO loading\nWARNING slow\n", Cause{}, false},
		{"traceback of a prefixed process", head + "Traceback (most recent call last):\n" + head + "  File \"x.py\", line 1, in f\n" +
			head + "    f()\n" + head + "torch._dynamo.exc.BackendCompilerFailed: backend failed\n",
			Cause{"EngineCore", "torch._dynamo.exc.BackendCompilerFailed: backend failed"}, true},
		{"interleaved with another process", head + "Traceback (most recent call last):\n" +
			"(Worker pid=8) INFO 12-02 15:12:05 [w.py:1] still loading\n" + head + "  File \"x.py\", line 1, in f\n" + head + "KeyError: 'w'\n",
			Cause{"EngineCore", "KeyError: 'w'"}, true},
		{"symptoms are skipped", head + "Traceback (most recent call last):\n" + head + "  File \"x.py\"\n" +
			head + "RuntimeError: Worker failed with error 'x', please check the stack trace above for the root cause\n" +
			"(Worker pid=8) ERROR 12-02 15:12:05 [w.py:1] ValueError: bad shape\n",
			Cause{"Worker", "ValueError: bad shape"}, true},
		{"multiprocessing's announcement names an unprefixed traceback", "Process EngineCore:\nTraceback (most recent call last):\n  File \"x\"\nOSError: disk\n",
			Cause{"EngineCore", "OSError: disk"}, true},
		{"an unnamed process", "Traceback (most recent call last):\n  File \"x\"\nKeyboardInterrupt\n", Cause{"", "KeyboardInterrupt"}, true},
		{"a name lasts one traceback", "Process EngineCore:\nTraceback (most recent call last):\n  File \"x\"\nException: see stack trace for root cause\n" +
			"Traceback (most recent call last):\n  File \"y\"\nMemoryError: no\n", Cause{"", "MemoryError: no"}, true},
		{"a warning quoting an error is no cause", head + "Found ulimit; this can cause errors like `OSError: [Errno 24] Too many open files`\n" +
			"/x.py:138: FutureWarning: deprecated\n", Cause{}, false},
		{"a tolerated exception is no cause", "(Worker pid=3) WARNING 12-02 15:12:05 [w.py:1] Traceback (most recent call last):\n" +
			"(Worker pid=3) WARNING 12-02 15:12:05 [w.py:1]   File \"x\"\n(Worker pid=3) WARNING 12-02 15:12:05 [w.py:1] ImportError: no triton\n" +
			"(Worker pid=3) INFO 12-02 15:12:05 [w.py:1] ValueError: quoted in a message\n", Cause{}, false},
		{"colour codes", "\x1b[1;36m(Worker pid=3)\x1b[0;0m ERROR 12-02 15:12:05 [w.py:1] RuntimeError: boom\r\n", Cause{"Worker", "RuntimeError: boom"}, true},
		{"a line that is not an exception ends a traceback", "Traceback (most recent call last):\n  File \"x\"\nloading the rest\nstill no error\n", Cause{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Find([]byte(tc.log))
			if got != tc.want || ok != tc.ok {
				t.Errorf("Find = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	log := filepath.Join(t.TempDir(), "engine.log")
	if err := os.WriteFile(log, []byte("(Worker pid=3) ERROR 12-02 15:12:05 [w.py:1] RuntimeError: aot_compile is not supported\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const symptom = "create vllm.LLM: LLM(): RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}"
	for _, tc := range []struct {
		name, msg, path string
		want            string
	}{
		{"a symptom", symptom, log, "root cause in Worker: RuntimeError: aot_compile is not supported"},
		{"a server that exited", "vllm serve exited with status 1 during start-up", log, "root cause in Worker: RuntimeError: aot_compile is not supported"},
		{"a dead worker", "worker (VLLM::Worker, pid 42) exited with status 1: generate: KeyboardInterrupt", log, "root cause in Worker: RuntimeError: aot_compile is not supported"},
		{"an error that says why itself", "generate: KeyboardInterrupt", log, ""},
		{"explained already", symptom + ": root cause in Worker: RuntimeError: aot_compile is not supported", log, ""},
		{"the cause already in the message", "vllm serve exited: RuntimeError: aot_compile is not supported", log, ""},
		{"no log", symptom, filepath.Join(t.TempDir(), "none.log"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := Explain(tc.msg, tc.path)
			if got := map[bool]string{true: c.String(), false: ""}[ok]; got != tc.want {
				t.Errorf("Explain = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestExplainReadsTheEnd reads only the end of a long log.
func TestExplainReadsTheEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "engine.log")
	data := "Traceback (most recent call last):\n  File \"x\"\nValueError: long ago\n" + strings.Repeat("INFO step\n", maxRead/10) +
		"(EngineCore pid=1) ERROR 12-02 15:12:05 [c.py:1] ValueError: now\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, ok := Explain("EngineDeadError", path); !ok || c.Exception != "ValueError: now" {
		t.Errorf("Explain = %+v, %v; want the cause in the log's last %d bytes", c, ok, maxRead)
	}
}

func FuzzFind(f *testing.F) {
	logs, _ := filepath.Glob("testdata/*.log")
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		// The part with the tracebacks: whole logs make slow seeds.
		if i := bytes.Index(data, []byte("Traceback")); i > 0 {
			data = data[max(0, i-400):min(len(data), i+4000)]
		}
		f.Add(data)
	}
	f.Add([]byte("Process X:\nTraceback (most recent call last):\n  File\nE\n"))
	f.Add([]byte("(a pid=1) (b pid=2) INFO 01-01 00:00:00 [x] Traceback (most recent call last):\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ok := Find(data)
		if !ok {
			if c != (Cause{}) {
				t.Fatalf("no cause, but %+v", c)
			}
			return
		}
		if c.Exception == "" || strings.ContainsAny(c.Exception, "\n\r") || Reported(c.Exception) {
			t.Fatalf("cause %+v: want one line that is not a symptom", c)
		}
		if !strings.HasSuffix(c.Exception, "…") && !strings.Contains(strings.ToValidUTF8(ansi.ReplaceAllString(string(data), ""), "\uFFFD"), c.Exception) {
			t.Fatalf("cause %q is not in the log", c.Exception)
		}
	})
}
