package main

import (
	"testing"

	"github.com/rollbench/rollbench/workload"
)

// trapVariables are the environment variables the known traps read.
var trapVariables = []string{"TORCHDYNAMO_DISABLE", "VLLM_USE_AOT_COMPILE", "VLLM_DISABLE_COMPILE_CACHE"}

func TestTraps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		eager   bool
		trapped bool
	}{
		{"clean environment", nil, false, false},
		{"TorchDynamo disabled", map[string]string{"TORCHDYNAMO_DISABLE": "1"}, false, true},
		{"TorchDynamo disabled, eager", map[string]string{"TORCHDYNAMO_DISABLE": "1"}, true, false},
		// torch reads only "1".
		{"TorchDynamo not disabled", map[string]string{"TORCHDYNAMO_DISABLE": "0"}, false, false},
		{"TorchDynamo disabled, AOT compilation off", map[string]string{"TORCHDYNAMO_DISABLE": "1", "VLLM_USE_AOT_COMPILE": "0"}, false, false},
		{"TorchDynamo disabled, AOT compilation on", map[string]string{"TORCHDYNAMO_DISABLE": "1", "VLLM_USE_AOT_COMPILE": "1", "VLLM_DISABLE_COMPILE_CACHE": "1"}, false, true},
		{"TorchDynamo disabled, compile cache off", map[string]string{"TORCHDYNAMO_DISABLE": "1", "VLLM_DISABLE_COMPILE_CACHE": "1"}, false, false},
		{"TorchDynamo disabled, compile cache on", map[string]string{"TORCHDYNAMO_DISABLE": "1", "VLLM_DISABLE_COMPILE_CACHE": "0"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			if got := fallsInto(lookup, tc.eager) != nil; got != tc.trapped {
				t.Errorf("trapped = %v, want %v", got, tc.trapped)
			}
			if err := checkTraps(lookup, tc.eager); (err != nil) != tc.trapped {
				t.Errorf("checkTraps = %v", err)
			}
		})
	}
}

// TestEager checks where an engine's eagerness comes from: engine_args,
// which win, or --enforce-eager.
func TestEager(t *testing.T) {
	for _, tc := range []struct {
		flag bool
		args map[string]any
		want bool
	}{
		{false, nil, false},
		{true, nil, true},
		{false, map[string]any{"enforce_eager": true}, true},
		{true, map[string]any{"enforce_eager": false}, false},
	} {
		spec := workload.Default()
		spec.Engine.EnforceEager, spec.Engine.Args = tc.flag, tc.args
		if got := eager(spec); got != tc.want {
			t.Errorf("--enforce-eager %v, engine_args %v: eager %v, want %v", tc.flag, tc.args, got, tc.want)
		}
	}
	if c := (clientOptions{serverArgs: []string{"--port", "1", "--enforce-eager"}}); !c.eagerServer() {
		t.Error("--server-arg --enforce-eager is not eager")
	}
}
