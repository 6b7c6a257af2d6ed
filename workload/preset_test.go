package workload

import (
	"strings"
	"testing"
)

func TestPresetApply(t *testing.T) {
	p, err := LookupPreset(PresetVerlAsync)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name                       string
		modeGiven, maxNumSeqsGiven bool
		wantMode                   Mode
		wantMaxNumSeqs             int
	}{
		{"defaults", false, false, Async, 256},
		// What the user gave explicitly wins over the preset.
		{"mode given", true, false, Sync, 256},
		{"max-num-seqs given", false, true, Async, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := Default()
			spec.Rollout.Mode, spec.Engine.MaxNumSeqs = Sync, 64
			p.Apply(&spec, tc.modeGiven, tc.maxNumSeqsGiven)
			r := spec.Rollout
			if r.Mode != tc.wantMode || spec.Engine.MaxNumSeqs != tc.wantMaxNumSeqs || !r.VerlMaxTokens || r.Preset != PresetVerlAsync {
				t.Errorf("mode %s, max-num-seqs %d, verl rule %v, preset %q", r.Mode, spec.Engine.MaxNumSeqs, r.VerlMaxTokens, r.Preset)
			}
		})
	}
	if p.EngineArgs["max_num_batched_tokens"] != 8192 || p.EngineArgs["enable_chunked_prefill"] != true || p.EngineArgs["enable_prefix_caching"] != true {
		t.Errorf("verl-async engine arguments: %v", p.EngineArgs)
	}
}

func TestLookupPresetUnknown(t *testing.T) {
	_, err := LookupPreset("openrlhf")
	if err == nil || !strings.Contains(err.Error(), `must be verl-async, got "openrlhf"`) {
		t.Errorf("LookupPreset(openrlhf) = %v", err)
	}
}
