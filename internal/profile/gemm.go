package profile

import "sort"

// gemmOps are the names the model's matrix products run under in a torch
// profiler trace, whichever kernel the platform picked. Which one runs
// depends on the host, not on rollbench: vLLM's CPU backend chooses per
// layer by CPU features (vllm/model_executor/layers/utils.py,
// dispatch_cpu_unquantized_gemm; kernels/linear/scaled_mm/cpu.py for int8),
// CUDA runs torch's or vLLM's cutlass kernels, Ascend runs torch_npu's.
var gemmOps = map[string]bool{
	// torch's own: the CPU fallback (F.linear) and CUDA's unquantized path.
	"aten::linear": true, "aten::mm": true, "aten::addmm": true, "aten::matmul": true, "aten::bmm": true,
	// vLLM's CPU kernels: oneDNN, SGL's AMX kernel, AMD's zentorch.
	"_C::onednn_mm": true, "_C::onednn_scaled_mm": true, "_C::weight_packed_linear": true,
	"_C::int8_scaled_mm_with_quant": true, "zentorch::zentorch_linear_unary": true,
	// vLLM's CUDA kernels for quantized checkpoints.
	"_C::cutlass_scaled_mm": true, "_C::cutlass_scaled_mm_azp": true,
	// torch_npu's, as vllm-ascend calls them for W8A8 and W8A16.
	"npu::npu_quant_matmul": true, "npu::npu_weight_quant_batchmatmul": true,
}

// GEMMs counts the matrix-product operators of a trace by name: the model's
// own work, which a trace of a generate must hold whatever the kernel.
func GEMMs(events []Event) map[string]int {
	found := map[string]int{}
	for _, e := range events {
		if gemmOps[e.Name] {
			found[e.Name]++
		}
	}
	return found
}

// GEMMNames lists the operator names of GEMMs' counts, sorted.
func GEMMNames(counts map[string]int) []string {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
