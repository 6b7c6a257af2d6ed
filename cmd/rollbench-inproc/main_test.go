package main

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/rollbench/rollbench/internal/progress"
)

func TestExitCode(t *testing.T) {
	sigint := interrupted{syscall.SIGINT, progress.Generate}
	for _, tc := range []struct {
		name string
		err  error
		code int
		line string
	}{
		{"success", nil, 0, ""},
		{"help", errHelp, 0, ""},
		{"failure", errors.New("load model /m: no config.json"), 1, "rollbench-inproc: load model /m: no config.json\n"},
		{"usage", usagef("--num-prompts must be positive"), 2, "rollbench-inproc: --num-prompts must be positive\n"},
		{"SIGINT, wrapped on the way up", fmt.Errorf("load model /m: %w: KeyboardInterrupt", sigint), 130,
			"rollbench-inproc: load model /m: interrupted by SIGINT during generate: KeyboardInterrupt\n"},
		{"SIGTERM before any phase", interrupted{syscall.SIGTERM, ""}, 143, "rollbench-inproc: interrupted by SIGTERM\n"},
		// As main joins a signal the error lost on its way.
		{"SIGINT beside another error", errors.Join(sigint, errors.New("write result: disk full")), 130,
			"rollbench-inproc: interrupted by SIGINT during generate\nrollbench-inproc: write result: disk full\n"},
	} {
		var stderr bytes.Buffer
		if code := exitCode(tc.err, &stderr); code != tc.code || stderr.String() != tc.line {
			t.Errorf("%s: exit %d, stderr %q; want %d, %q", tc.name, code, stderr.String(), tc.code, tc.line)
		}
	}
}
