package result

import (
	"encoding/json"
	"maps"

	"github.com/rollbench/rollbench/internal/loadgen"
	"github.com/rollbench/rollbench/internal/profile"
	"github.com/rollbench/rollbench/internal/sys"
	"github.com/rollbench/rollbench/metrics"
	"github.com/rollbench/rollbench/workload"
)

// OnlineSchema names the layout of an online result.
const OnlineSchema = "rollbench.online/1"

// Online is the result of one online experiment: vllm serve started by
// rollbench, driven over HTTP by its Go client.
type Online struct {
	Header

	Spec         workload.Spec  `json:"spec"`
	EngineKwargs map[string]any `json:"engine_kwargs"`
	// ServerCommand is the exact command line the server ran.
	ServerCommand []string `json:"server_command"`
	// ServerLog is the engine log, where the server's output went (empty
	// when it was shown live).
	ServerLog string `json:"server_log"`
	Client    Client `json:"client"`
	Timings   struct {
		ServerStart float64 `json:"server_start_s"`
		Warmup      float64 `json:"warmup_s"`
		Run         float64 `json:"run_s"`
		ServerStop  float64 `json:"server_stop_s"`
	} `json:"timings"`

	Metrics metrics.Online `json:"metrics"`
	// ServerCounters are the differences of the server's own /metrics
	// counters over the measured run, to check the client's counts.
	ServerCounters map[string]float64 `json:"server_counters"`
	// Requests is the file holding one record per sample, if saved.
	Requests string   `json:"requests_file,omitempty"`
	Warnings []string `json:"warnings"`

	Environment sys.Environment `json:"environment"`

	// Profile is the profiled pass after the measured run, when asked for;
	// its requests and timings are not in Metrics.
	Profile *profile.Record `json:"profile,omitempty"`
}

// Client is how the load was generated.
type Client struct {
	Mode           loadgen.Mode `json:"mode"`
	MaxConcurrency int          `json:"max_concurrency"`
	// RequestRate is the Poisson arrival rate per second; 0 (left out)
	// sent every request at once.
	RequestRate float64 `json:"request_rate,omitempty"`
	IgnoreEOS   bool    `json:"ignore_eos"`
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	MaxTokens   int     `json:"max_tokens"`
}

// MarshalJSON adds, at the top level, the keys `vllm bench serve
// --save-result` writes, so tools that read those files read ours.
func (r Online) MarshalJSON() ([]byte, error) {
	type plain Online
	data, err := json.Marshal(plain(r))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	maps.Copy(m, r.Metrics.VLLMKeys())
	return json.Marshal(m)
}
