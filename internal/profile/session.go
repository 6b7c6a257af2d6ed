package profile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Action is what a session step does.
type Action string

const (
	// Warmup runs a workload, untimed by any profiler, to settle the engine.
	Warmup Action = "warmup"
	// Start starts the profiler; its traces are named after the step.
	Start Action = "start"
	// Generate runs a workload, inside a named range when it has one.
	Generate Action = "generate"
	// Stop stops the profiler and flushes its traces.
	Stop Action = "stop"
)

// Shape overrides the command line's rollout for one step; zero fields keep
// the command line's values.
type Shape struct {
	NumPrompts int `json:"num_prompts,omitempty" yaml:"num_prompts"`
	N          int `json:"n,omitempty" yaml:"n"`
	InputLen   int `json:"input_len,omitempty" yaml:"input_len"`
	OutputLen  int `json:"output_len,omitempty" yaml:"output_len"`
	// Range names a torch.profiler.record_function around the generate.
	Range string `json:"range,omitempty" yaml:"range"`
}

// Step is one line of a session.
type Step struct {
	Action Action `json:"action"`
	// Name names a start step's traces.
	Name  string `json:"name,omitempty"`
	Shape *Shape `json:"shape,omitempty"`
	Line  int    `json:"line"`
}

// Session is a profiling investigation written once and re-run on each
// model and quantization.
type Session struct {
	Profiler Options `json:"profiler"`
	Steps    []Step  `json:"steps"`
}

// optionKeys are Options' YAML keys.
var optionKeys = []string{"backend", "activities", "record_shapes", "with_stack", "npu_level", "aic_metrics"}

// traceName is what vLLM accepts as a profile prefix, and what is safe as a
// file name.
var traceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// LoadSession reads and checks a session file. Errors name the file, the
// line and the reason.
func LoadSession(path string) (*Session, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	s, err := ParseSession(data)
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", path, err)
	}
	return s, nil
}

// ParseSession parses a session file's contents.
func ParseSession(data []byte) (*Session, error) {
	var root yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		return nil, errors.New(yamlMessage(err))
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: want a mapping with profiler and steps", root.Line)
	}
	s := &Session{Profiler: Defaults()}
	var steps *yaml.Node
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "profiler":
			if err := decodeStrict(v, &s.Profiler, optionKeys...); err != nil {
				return nil, err
			}
			if err := s.Profiler.Validate(); err != nil {
				return nil, fmt.Errorf("line %d: profiler: %w", v.Line, err)
			}
		case "steps":
			steps = v
		default:
			return nil, fmt.Errorf("line %d: unknown key %q (want profiler, steps)", k.Line, k.Value)
		}
	}
	if steps == nil || steps.Kind != yaml.SequenceNode || len(steps.Content) == 0 {
		return nil, fmt.Errorf("line %d: steps: want a non-empty list", doc.Line)
	}
	for _, n := range steps.Content {
		st, err := parseStep(n)
		if err != nil {
			return nil, err
		}
		s.Steps = append(s.Steps, st)
	}
	return s, s.check()
}

func parseStep(n *yaml.Node) (Step, error) {
	st := Step{Line: n.Line}
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return st, fmt.Errorf("line %d: a step is one of warmup, start, generate, stop with its settings", n.Line)
	}
	k, v := n.Content[0], n.Content[1]
	st.Action = Action(k.Value)
	switch st.Action {
	case Warmup, Generate:
		st.Shape = &Shape{}
		if !isEmpty(v) {
			if err := decodeStrict(v, st.Shape, "num_prompts", "n", "input_len", "output_len", "range"); err != nil {
				return st, err
			}
		}
		sh := st.Shape
		if sh.NumPrompts < 0 || sh.N < 0 || sh.InputLen < 0 || sh.OutputLen < 0 {
			return st, fmt.Errorf("line %d: %s: sizes must be positive", v.Line, k.Value)
		}
		if sh.Range != "" && st.Action != Generate {
			return st, fmt.Errorf("line %d: warmup: ranges belong to generate steps", v.Line)
		}
	case Start:
		var opt struct {
			Name string `yaml:"name"`
		}
		if !isEmpty(v) {
			if err := decodeStrict(v, &opt, "name"); err != nil {
				return st, err
			}
		}
		st.Name = opt.Name
		if st.Name != "" && !traceName.MatchString(st.Name) {
			return st, fmt.Errorf("line %d: start: name %q must be letters, digits, '.', '_' or '-', starting with a letter or digit", v.Line, st.Name)
		}
	case Stop:
		if !isEmpty(v) {
			return st, fmt.Errorf("line %d: stop takes no settings", v.Line)
		}
	default:
		return st, fmt.Errorf("line %d: unknown step %q (want warmup, start, generate or stop)", k.Line, k.Value)
	}
	return st, nil
}

// check walks the steps as they will run: starts and stops alternate, and
// the profiler is stopped by the end.
func (s *Session) check() error {
	running := false
	names := map[string]int{}
	for i := range s.Steps {
		st := &s.Steps[i]
		switch st.Action {
		case Start:
			if running {
				return fmt.Errorf("line %d: start: the profiler is already running", st.Line)
			}
			if st.Name == "" {
				st.Name = fmt.Sprintf("step%d", i+1)
			}
			if prev, ok := names[st.Name]; ok {
				return fmt.Errorf("line %d: start: name %q is used on line %d too", st.Line, st.Name, prev)
			}
			names[st.Name] = st.Line
			running = true
		case Stop:
			if !running {
				return fmt.Errorf("line %d: stop: the profiler is not running", st.Line)
			}
			running = false
		case Generate:
			if st.Shape.Range != "" && !running {
				return fmt.Errorf("line %d: generate: range %q outside a profile (start the profiler first)", st.Line, st.Shape.Range)
			}
		}
	}
	if running {
		return fmt.Errorf("line %d: the profiler is still running at the end (add a stop step)", s.Steps[len(s.Steps)-1].Line)
	}
	if len(names) == 0 {
		return errors.New("no start step: the session records nothing")
	}
	return nil
}

func isEmpty(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "")
}

// decodeStrict decodes a mapping after checking its keys: a nested Decode
// does not inherit the decoder's KnownFields, and a misspelt key must not
// be ignored.
func decodeStrict(n *yaml.Node, v any, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of %s", n.Line, strings.Join(allowed, ", "))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(allowed, k.Value) {
			return fmt.Errorf("line %d: unknown key %q (want one of %s)", k.Line, k.Value, strings.Join(allowed, ", "))
		}
	}
	if err := n.Decode(v); err != nil {
		return errors.New(yamlMessage(err))
	}
	return nil
}

// yamlMessage is the YAML library's message on one line; its type errors
// name their lines already.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
