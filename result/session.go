package result

import (
	"time"

	"github.com/rollbench/rollbench/engine"
	"github.com/rollbench/rollbench/profile"
	"github.com/rollbench/rollbench/workload"
)

// SessionSchema names the layout of a profiling session's result.
const SessionSchema = "rollbench.profile-session/1"

// Session is the result of `rollbench-inproc profile --session`: no
// measured pass, only the session's steps, each timed from Go.
type Session struct {
	Schema    string    `json:"schema"`
	Rollbench string    `json:"rollbench_version"`
	Name      string    `json:"name"`
	ModelName string    `json:"model_name"`
	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	StartedAt time.Time `json:"started_at"`
	// SessionFile is the file the steps came from.
	SessionFile  string             `json:"session_file"`
	Spec         workload.Spec      `json:"spec"`
	EngineKwargs map[string]any     `json:"engine_kwargs"`
	Environment  engine.Environment `json:"environment"`
	LoadS        float64            `json:"load_s"`
	Profile      *profile.Record    `json:"profile"`
}
