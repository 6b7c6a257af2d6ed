package profile

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Event is one complete ("ph": "X") event of a Chrome trace; ts and dur are
// in microseconds.
type Event struct {
	Name string  `json:"name"`
	Cat  string  `json:"cat"`
	Ph   string  `json:"ph"`
	Ts   float64 `json:"ts"`
	Dur  float64 `json:"dur"`
	Pid  any     `json:"pid"`
	Tid  any     `json:"tid"`
}

// deviceCats are the categories torch's profiler gives work that ran on a
// device rather than on the host.
var deviceCats = []string{"kernel", "gpu_memcpy", "gpu_memset"}

// IsTrace reports whether a file name is one a torch profiler gives its
// Chrome traces: torch's handler writes NAME.pt.trace.json (.gz when
// compressed); torch_npu's analysis writes ASCEND_PROFILER_OUTPUT/
// trace_view.json beside other JSON files that are not traces.
func IsTrace(name string) bool {
	return strings.HasSuffix(name, ".pt.trace.json") || strings.HasSuffix(name, ".pt.trace.json.gz") || name == "trace_view.json"
}

// ReadTrace reads the complete events of a Chrome trace file (.json, or
// .json.gz), streaming, since a trace may be hundreds of megabytes.
func ReadTrace(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read trace: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("read trace %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	events, err := decodeTrace(json.NewDecoder(r))
	if err != nil {
		return nil, fmt.Errorf("read trace %s: not a Chrome trace: %w", path, err)
	}
	return events, nil
}

// decodeTrace accepts both forms of the format: an object with a
// traceEvents array, or the bare array.
func decodeTrace(dec *json.Decoder) ([]Event, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('['):
		return decodeEvents(dec)
	case json.Delim('{'):
	default:
		return nil, fmt.Errorf("starts with %v, not an object or array", tok)
	}
	var events []Event
	found := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if key != "traceEvents" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return nil, errors.New("traceEvents is not an array")
		}
		if events, err = decodeEvents(dec); err != nil {
			return nil, err
		}
		found = true
	}
	if !found {
		return nil, errors.New("no traceEvents")
	}
	return events, nil
}

// decodeEvents reads array elements up to and including the closing ']'.
func decodeEvents(dec *json.Decoder) ([]Event, error) {
	var events []Event
	for dec.More() {
		var e Event
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("event %d: %w", len(events), err)
		}
		if e.Ph == "X" {
			events = append(events, e)
		}
	}
	_, err := dec.Token()
	return events, err
}

// Op is one operator's time over a trace, in microseconds.
type Op struct {
	Name  string  `json:"name"`
	Calls int     `json:"calls"`
	Total float64 `json:"total_us"`
	// Self excludes the operators it called (nested events on its thread).
	Self float64 `json:"self_us"`
}

// Top is the operators of one kind of time, largest total first.
type Top struct {
	// Kind is "device" when the trace holds device kernels, else "cpu".
	Kind string `json:"kind"`
	// Busy is the summed self time of every operator: the time covered.
	Busy float64 `json:"busy_us"`
	Ops  []Op    `json:"ops"`
	// GEMMs counts the model's matrix products by operator name, host
	// operators included whatever Kind is: which kernel the platform ran.
	GEMMs map[string]int `json:"gemms,omitempty"`
}

// TopOps aggregates events by name: device kernels when there are any, else
// the host's operators (torch's cpu_op category). n limits the list.
func TopOps(events []Event, n int) Top {
	var chosen []Event
	kind := "device"
	for _, e := range events {
		if slices.Contains(deviceCats, e.Cat) {
			chosen = append(chosen, e)
		}
	}
	if len(chosen) == 0 {
		kind = "cpu"
		for _, e := range events {
			if e.Cat == "cpu_op" {
				chosen = append(chosen, e)
			}
		}
	}
	self := selfTimes(chosen)
	byName := map[string]*Op{}
	t := Top{Kind: kind}
	if g := GEMMs(events); len(g) > 0 {
		t.GEMMs = g
	}
	for i, e := range chosen {
		op := byName[e.Name]
		if op == nil {
			op = &Op{Name: e.Name}
			byName[e.Name] = op
		}
		op.Calls++
		op.Total += e.Dur
		op.Self += self[i]
		t.Busy += self[i]
	}
	for _, op := range byName {
		t.Ops = append(t.Ops, *op)
	}
	sort.Slice(t.Ops, func(i, j int) bool {
		if t.Ops[i].Total != t.Ops[j].Total {
			return t.Ops[i].Total > t.Ops[j].Total
		}
		return t.Ops[i].Name < t.Ops[j].Name
	})
	if n > 0 && len(t.Ops) > n {
		t.Ops = t.Ops[:n]
	}
	return t
}

// selfTimes subtracts from each event the events nested in it on the same
// thread (or stream): an operator's children start within it and end no
// later than it does.
func selfTimes(events []Event) []float64 {
	self := make([]float64, len(events))
	idx := make([]int, len(events))
	for i := range idx {
		idx[i] = i
		self[i] = events[i].Dur
	}
	lane := func(e Event) string { return fmt.Sprint(e.Pid, "/", e.Tid) }
	sort.SliceStable(idx, func(a, b int) bool {
		ea, eb := events[idx[a]], events[idx[b]]
		if la, lb := lane(ea), lane(eb); la != lb {
			return la < lb
		}
		if ea.Ts != eb.Ts {
			return ea.Ts < eb.Ts
		}
		return ea.Dur > eb.Dur // the enclosing event first
	})
	var stack []int
	prevLane := ""
	for _, i := range idx {
		e := events[i]
		if l := lane(e); l != prevLane {
			stack, prevLane = stack[:0], l
		}
		for len(stack) > 0 {
			top := events[stack[len(stack)-1]]
			if e.Ts < top.Ts+top.Dur {
				break
			}
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			self[stack[len(stack)-1]] -= e.Dur
		}
		stack = append(stack, i)
	}
	return self
}

// FindTraces lists the trace files below dir, sorted.
func FindTraces(dir string) ([]string, error) {
	var traces []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && IsTrace(d.Name()) {
			traces = append(traces, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find traces: %w", err)
	}
	sort.Strings(traces)
	return traces, nil
}
