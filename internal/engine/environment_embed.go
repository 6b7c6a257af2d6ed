//go:build !nopython

package engine

import (
	"context"

	"github.com/rollbench/rollbench/internal/sys"
	"github.com/rollbench/rollbench/pyembed"
)

// Describe reads the environment from the interpreter, after it imported
// vllm (which settles the platform), and from the machine. The interpreter
// must have the shipped Python package on its path.
func Describe(ctx context.Context, in *pyembed.Interpreter) (sys.Environment, error) {
	var data string
	err := in.Do(ctx, func(s *pyembed.Scope) error {
		m, err := s.Import(describeModule)
		if err != nil {
			return err
		}
		d, err := m.CallMethod("describe_json", nil, nil)
		if err != nil {
			return err
		}
		data, err = d.Str()
		return err
	})
	info := in.Info()
	env := machine(info.Executable)
	if err == nil {
		env, err = describeFrom([]byte(data), info.Executable)
	}
	// The version this binary was linked against, as probed at start.
	env.Python = info.Version
	return env, err
}
