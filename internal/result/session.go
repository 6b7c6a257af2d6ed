package result

import (
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/sys"
	"github.com/rollbench/rollbench/workload"
)

// SessionSchema names the layout of a profiling session's result.
const SessionSchema = "rollbench.profile-session/1"

// Session is the result of `rollbench-inproc profile --session`: no
// measured pass, only the session's steps, each timed from Go.
type Session struct {
	Header
	// SessionFile is the file the steps came from.
	SessionFile string `json:"session_file"`
	// Log is the engine log, where the engine's output went (empty when
	// it was shown live).
	Log          string          `json:"log,omitempty"`
	Spec         workload.Spec   `json:"spec"`
	EngineKwargs map[string]any  `json:"engine_kwargs"`
	Environment  sys.Environment `json:"environment"`
	LoadS        float64         `json:"load_s"`
	Profile      *profile.Record `json:"profile"`
}
