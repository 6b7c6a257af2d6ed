"""Records the small Chrome traces in internal/profile/testdata/gemm/: one
profiled generate on the tiny model, once with the GEMM kernel vLLM's CPU
backend picks on this host and once forced onto its torch fallback
(F.linear, hence aten::linear/aten::mm), which is what hosts whose kernels
lack oneDNN run. Only the events of one forward pass are kept, so the files
stay small. Run: .venv/bin/python scripts/record-gemm-traces.py MODEL OUTDIR
"""

from __future__ import annotations

import gzip
import json
import os
import sys

os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"  # the model runs here, where the profiler sees it


def record(model: str, out: str, force_fallback: bool) -> None:
    import torch
    from vllm import LLM, SamplingParams
    import vllm._custom_ops as ops

    if force_fallback:
        # dispatch_cpu_unquantized_gemm takes oneDNN only when the kernels
        # offer it; without, every linear layer calls F.linear.
        ops._supports_onednn = False
    llm = LLM(model=model, enforce_eager=True, kv_cache_memory_bytes=1 << 28, max_model_len=128, max_num_seqs=4)
    sp = SamplingParams(max_tokens=2, ignore_eos=True)
    llm.generate([{"prompt_token_ids": [5, 6, 7, 8]}], sp, use_tqdm=False)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        llm.generate([{"prompt_token_ids": [9, 10, 11, 12]}], sp, use_tqdm=False)
    raw = out + ".full.json"
    prof.export_chrome_trace(raw)
    with open(raw) as f:
        trace = json.load(f)
    os.remove(raw)
    events = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    # The first model forward: from its first matrix product to the
    # sampler's, keeping every operator in between.
    starts = sorted(e["ts"] for e in events if e.get("cat") == "cpu_op")
    lo = starts[0]
    hi = lo + (starts[-1] - lo) / 2
    kept = [e for e in events if lo <= e["ts"] <= hi and e.get("cat") in ("cpu_op", "user_annotation")]
    for e in kept:
        e.pop("args", None)
    with gzip.open(out, "wt") as f:
        json.dump({"traceEvents": kept, "note": "recorded by scripts/record-gemm-traces.py"}, f)
    print(out, len(kept), "events", file=sys.stderr)


if __name__ == "__main__":
    model, outdir, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(outdir, exist_ok=True)
    record(model, os.path.join(outdir, f"{kind}.pt.trace.json.gz"), kind.endswith("fallback"))
