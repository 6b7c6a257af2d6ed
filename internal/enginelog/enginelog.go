// Package enginelog finds, in what vLLM's processes printed, the cause of a
// failure that vLLM reports only as a symptom: an engine whose core process
// failed to start raises "Engine core initialization failed. See root cause
// above." in the process that asked for it, and the exception that says why
// (a corrupted weights file, a compilation the settings forbid, a KV cache
// too small) is in the log of the engine core or of its worker. The log
// itself stays where it is; this reads it.
package enginelog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Cause is the exception a vLLM process printed first.
type Cause struct {
	// Process is the name vLLM gave the process in its log lines
	// ("EngineCore", "Worker", "APIServer"), or the one multiprocessing
	// printed before its traceback; empty when the lines tell none.
	Process string
	// Exception is the exception's line as Python printed it:
	// "RuntimeError: message", its first line only.
	Exception string
}

func (c Cause) String() string {
	if c.Process == "" {
		return "root cause: " + c.Exception
	}
	return "root cause in " + c.Process + ": " + c.Exception
}

// symptoms are the words of vLLM's reports that a process of its own
// failed elsewhere ("See root cause above.", "See stack trace (above) for
// the root cause", "died unexpectedly"), and of rollbench's for a server
// that exited and for an engine process that died ("engine core
// (VLLM::EngineCore, pid 42) exited with status 1"): the errors whose
// cause is only in the log.
var symptoms = []string{"root cause", "EngineDeadError", "died unexpectedly", "vllm serve exited", "vllm serve was killed", "vllm serve died", "(VLLM::"}

// Reported says whether msg is such a report.
func Reported(msg string) bool {
	for _, s := range symptoms {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// maxRead bounds what is read of a log: its end holds a failure's
// tracebacks, and a long run's log may be large.
const maxRead = 8 << 20

// Explain returns the cause of the failure msg reports, found in the log
// file at path, when msg is a report of a failure elsewhere (Reported) that
// does not already name its cause.
func Explain(msg, path string) (Cause, bool) {
	if !Reported(msg) || strings.Contains(msg, "root cause in ") || strings.Contains(msg, "root cause: ") {
		return Cause{}, false
	}
	log, err := readEnd(path, maxRead)
	if err != nil {
		return Cause{}, false
	}
	c, ok := Find(log)
	if !ok || strings.Contains(msg, c.Exception) {
		return Cause{}, false
	}
	return c, true
}

func readEnd(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		if _, err := f.Seek(st.Size()-n, io.SeekStart); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(f)
}

var (
	// ansi are the colour codes vLLM adds on a terminal.
	ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	// prefix is vLLM's log line head, "(EngineCore pid=42) ERROR 12-02
	// 15:12:05 [core.py:1510] ", after VLLM_LOGGING_PREFIX if one is set;
	// lines a process printed without its logger have none.
	prefix = regexp.MustCompile(`^.*?\(([^()\s]+) pid=(\d+)\) (?:(DEBUG|INFO|WARNING|ERROR|CRITICAL) \d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \[[^\]]*\] )?`)
	// announce is multiprocessing's line before the traceback of a child
	// that failed: "Process EngineCore:".
	announce = regexp.MustCompile(`^Process ([^\s:]+):$`)
	// exception is the last line of a traceback: a class name, dotted by
	// its module, then its message.
	exception = regexp.MustCompile(`^[A-Za-z_][\w.]*(?:: .*)?$`)
	// named is an exception line outside a traceback, which only a class
	// name ending as Python's exceptions do tells apart from other lines.
	named = regexp.MustCompile(`^[A-Za-z_][\w.]*(?:Error|Exception): \S`)
)

// stream is one process's lines, which other processes' lines interleave.
type stream struct {
	name      string
	traceback bool // within a traceback's frames
}

// maxException bounds an exception's line, to keep the error one that
// reads on one line.
const maxException = 500

// Find returns the first exception in log that is not itself a report of a
// failure elsewhere: the last line of the first such traceback, or, before
// any, a line that names an exception class, as a logger prints one. What
// vLLM's logger printed below ERROR is an exception it tolerated.
// Lines are told apart by their process's prefix, so a traceback
// interleaved with another process's lines still reads as one.
func Find(log []byte) (Cause, bool) {
	streams := map[string]*stream{}
	for _, raw := range bytes.Split(log, []byte("\n")) {
		line := ansi.ReplaceAllString(strings.TrimRight(string(raw), "\r"), "")
		key, name, level := "", "", ""
		if m := prefix.FindStringSubmatchIndex(line); m != nil {
			name = line[m[2]:m[3]]
			key = name + " " + line[m[4]:m[5]]
			if m[6] >= 0 {
				level = line[m[6]:m[7]]
			}
			line = line[m[1]:]
		}
		s := streams[key]
		if s == nil {
			s = &stream{name: name}
			streams[key] = s
		}
		if key == "" {
			if m := announce.FindStringSubmatch(line); m != nil {
				s.name = m[1]
				continue
			}
		}
		switch {
		case line == "Traceback (most recent call last):":
			s.traceback = true
			continue
		case s.traceback && strings.HasPrefix(line, " "):
			continue // a frame or its code
		}
		ended := s.traceback
		s.traceback = false
		if !(ended && exception.MatchString(line)) && !named.MatchString(line) {
			continue
		}
		if level != "" && level != "ERROR" && level != "CRITICAL" {
			continue // logged as tolerated, not as the failure
		}
		if !Reported(line) {
			return Cause{Process: s.name, Exception: shorten(strings.TrimSpace(line))}, true
		}
		if ended && key == "" {
			// The next unprefixed traceback may be another process's.
			s.name = ""
		}
	}
	return Cause{}, false
}

// shorten makes an exception's line fit an error line: valid UTF-8, at
// most maxException characters.
func shorten(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= maxException {
		return s
	}
	return fmt.Sprintf("%s…", string([]rune(s)[:maxException]))
}
