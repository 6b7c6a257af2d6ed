package profile

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func FuzzDecodeTrace(f *testing.F) {
	for _, name := range []string{"cpu_trace.json", "device_trace.json", "truncated.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		events, err := decodeTrace(json.NewDecoder(bytes.NewReader(data)))
		if err != nil {
			return
		}
		top := TopOps(events, 5)
		if len(top.Ops) > 5 {
			t.Errorf("TopOps(5) returned %d operators", len(top.Ops))
		}
	})
}

func FuzzParseSession(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "sessions", "*.yaml"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSession(data)
		if err != nil {
			return
		}
		if err := s.Profiler.Validate(); err != nil {
			t.Errorf("accepted a session with invalid options: %v", err)
		}
		for _, st := range s.Steps {
			if (st.Action == Generate || st.Action == Warmup) && st.Shape == nil {
				t.Errorf("line %d: %s without a shape", st.Line, st.Action)
			}
		}
	})
}
