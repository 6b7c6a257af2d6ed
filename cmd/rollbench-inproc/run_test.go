package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rollbench/rollbench/internal/golden"
	"github.com/rollbench/rollbench/internal/result"
)

// TestEngineFailure is what a failed run shows: the error line with the
// root cause found in the engine log, then the log's last lines; the
// result's error gets the same cause.
func TestEngineFailure(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "run.log")
	var lines []string
	for i := range 25 {
		lines = append(lines, fmt.Sprintf("(EngineCore pid=7) INFO 12-02 15:12:05 [core.py:1] step %d", i))
	}
	lines = append(lines, "(Worker pid=8) ERROR 12-02 15:12:06 [w.py:1] ValueError: the weights do not fit")
	if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const symptom = "load model m: create vllm.LLM: LLM(): RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}"
	h := result.Header{Error: symptom}
	err := explained(errors.New(symptom), &h, log)
	const cause = ": root cause in Worker: ValueError: the weights do not fit"
	if h.Error != symptom+cause || err.Error() != symptom+cause {
		t.Errorf("explained: error %q, result's %q; want both to end with %q", err, h.Error, cause)
	}
	err = afterSave(err, nil, "results/run.json", log)
	var stderr bytes.Buffer
	if code := exitCode(err, &stderr); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	golden.Check(t, filepath.Join("testdata", "engine_failure.golden"), bytes.ReplaceAll(stderr.Bytes(), []byte(dir), []byte("$LOGS")), *update)

	// Without a log (shown live) there is nothing to add.
	if err := explained(errors.New(symptom), &result.Header{}, ""); err.Error() != symptom {
		t.Errorf("explained without a log: %v", err)
	}
	if _, ok := logged(errors.New("x"), "").(engineLogged); ok {
		t.Error("an error without a log shows a tail")
	}
	// A result that could not be written is no engine failure.
	saveErr := errors.New("write result: no space left on device")
	if err := afterSave(nil, saveErr, "", log); err != saveErr {
		t.Errorf("afterSave of a save failure alone: %v", err)
	}
}

func TestEngineLogPath(t *testing.T) {
	for _, tc := range []struct {
		engineLog string
		verbose   bool
		want      string
	}{
		{"", false, filepath.Join("logs", "run.log")},
		{"", true, ""},
		{"-", false, ""},
		{"engine.txt", false, "engine.txt"},
		{"engine.txt", true, "engine.txt"},
	} {
		e := engineOptions{logDir: "logs", engineLog: tc.engineLog, verbose: tc.verbose}
		if got := e.engineLogPath("run"); got != tc.want {
			t.Errorf("--engine-log %q, --verbose %v: %q, want %q", tc.engineLog, tc.verbose, got, tc.want)
		}
	}
}
