package engine

import (
	"maps"

	"github.com/rollbench/rollbench/workload"
)

// Kwargs maps an engine configuration to LLM(...)'s argument names. Every
// argument rollbench depends on is passed, not left to vLLM's defaults,
// which change between versions; e.Args come last and win.
func Kwargs(e workload.Engine) map[string]any {
	kw := map[string]any{
		"model":                  e.Model,
		"tensor_parallel_size":   e.TensorParallelSize,
		"dtype":                  e.Dtype,
		"gpu_memory_utilization": e.GPUMemoryUtilization,
		"max_num_seqs":           e.MaxNumSeqs,
		"max_model_len":          e.MaxModelLen,
		"enforce_eager":          e.EnforceEager,
		"seed":                   e.Seed,
	}
	if e.KVCacheMemoryBytes > 0 {
		kw["kv_cache_memory_bytes"] = e.KVCacheMemoryBytes
	}
	maps.Copy(kw, e.Args)
	return kw
}
