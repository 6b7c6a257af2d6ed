"""The trainer's view of a rollout: the BF16 policy's log-prob of every
response token, computed the way verl's FSDP actor computes old_log_probs.

verl (verl-project/verl, read at 6eeb5711, April 2026):
`verl/workers/actor/dp_actor.py` `DataParallelPPOActor._forward_micro_batch`
(the path without remove-padding or fused kernels, now
`verl/workers/engine/fsdp/transformer_impl.py`
`FSDPEngineWithLMHead.prepare_model_outputs`) runs the Hugging Face model
under `torch.autocast(dtype=bfloat16)` on prompts left-padded and responses
right-padded, position ids `cumsum(attention_mask) - 1`, `use_cache=False`;
divides the logits in place by the rollout temperature (`logits.div_(temperature)`),
keeps `logits[:, -response_length - 1 : -1]` and calls
`verl/utils/torch_functional.py` `logprobs_from_logits`. rollbench samples at
temperature 1, so the division is the identity and is left out here.
`logprobs_from_logits` on a GPU is flash-attn's cross-entropy kernel, which
reads the bf16 logits and returns float32; its CPU fallback
`logprobs_from_logits_v2` keeps bf16, which would round every log-prob to
about 3 significant digits and swamp the mismatch being measured, so the
log-softmax here is the GPU path's: float32 over the bf16 logits, row by row
as `logprobs_from_logits_v2` loops, to bound the float32 copy.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from typing import Any

import psutil
import torch

# (prompt token ids, response token ids)
Sample = tuple[Sequence[int], Sequence[int]]

# Padded tokens per forward. verl's own bound for log-prob micro-batches is
# log_prob_max_token_len_per_gpu (16384); half that keeps the activations of a
# 2-core CPU host's forward well under a GiB for small models.
DEFAULT_TOKEN_BUDGET = 8192

_GIB = 1 << 30


def plan_batches(samples: Sequence[Sample], token_budget: int) -> list[list[int]]:
    """Group sample indices so that each forward's padded size
    (rows x (longest prompt + longest response)) stays within token_budget;
    a sample longer than the budget goes alone. Longest first, so that
    similar lengths share a batch and padding stays small."""
    if token_budget <= 0:
        raise ValueError(f"token budget must be positive, got {token_budget}")
    order = sorted(
        range(len(samples)),
        key=lambda i: (len(samples[i][0]) + len(samples[i][1]), len(samples[i][1])),
        reverse=True,
    )
    batches: list[list[int]] = []
    batch: list[int] = []
    max_prompt = max_response = 0
    for i in order:
        prompt, response = len(samples[i][0]), len(samples[i][1])
        p, r = max(max_prompt, prompt), max(max_response, response)
        if batch and (len(batch) + 1) * (p + r) > token_budget:
            batches.append(batch)
            batch, p, r = [], prompt, response
        batch.append(i)
        max_prompt, max_response = p, r
    if batch:
        batches.append(batch)
    return batches


class Reference:
    """A BF16 Hugging Face causal LM that scores response tokens."""

    def __init__(self, model: Any, device: torch.device) -> None:
        self.model = model
        self.device = device
        self.vocab_size: int = model.config.get_text_config().vocab_size
        pad = model.config.get_text_config().pad_token_id
        # Padded positions are masked out and never read; any valid id works.
        self.pad_id: int = pad if isinstance(pad, int) else 0

    @classmethod
    def load(cls, model_dir: str, device: str = "cpu") -> Reference:
        """Load model_dir's weights in bfloat16 on device, for inference."""
        from transformers import AutoConfig, AutoModelForCausalLM
        from transformers.utils import logging as hf_logging

        # Its per-file bar would land in the console's progress display.
        hf_logging.disable_progress_bar()

        config = AutoConfig.from_pretrained(model_dir)
        quant = getattr(config, "quantization_config", None)
        if quant is not None:
            method = quant.get("quant_method", "?") if isinstance(quant, dict) else type(quant).__name__
            raise ValueError(
                f"reference model {model_dir} is quantized ({method}); "
                "the reference is the BF16 policy, give its bf16 checkpoint"
            )
        dev = torch.device(device)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16).to(dev)
        model.eval()
        return cls(model, dev)

    def score(
        self, samples: Sequence[Sample], token_budget: int = DEFAULT_TOKEN_BUDGET
    ) -> list[list[float]]:
        """The log-prob of every response token of every sample, in order."""
        for n, (prompt, response) in enumerate(samples):
            if not prompt:
                raise ValueError(f"sample {n} has an empty prompt; its first response token has no context")
            for tok in (*prompt, *response):
                if not 0 <= tok < self.vocab_size:
                    raise ValueError(
                        f"sample {n} has token id {tok}, outside the reference's vocabulary of {self.vocab_size}"
                    )
        out: list[list[float]] = [[] for _ in samples]
        for batch in plan_batches(samples, token_budget):
            for i, logprobs in zip(batch, self._forward([samples[i] for i in batch]), strict=True):
                out[i] = logprobs
        return out

    def _forward(self, batch: Sequence[Sample]) -> list[list[float]]:
        max_prompt = max(len(p) for p, _ in batch)
        max_response = max(len(r) for _, r in batch)
        if max_response == 0:
            return [[] for _ in batch]
        width = max_prompt + max_response
        input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        responses = torch.full((len(batch), max_response), self.pad_id, dtype=torch.long)
        # verl's layout: prompts end at the same column, so the response
        # positions are one slice for the whole batch.
        for row, (prompt, response) in enumerate(batch):
            input_ids[row, max_prompt - len(prompt) : max_prompt] = torch.tensor(prompt, dtype=torch.long)
            input_ids[row, max_prompt : max_prompt + len(response)] = torch.tensor(response, dtype=torch.long)
            mask[row, max_prompt - len(prompt) : max_prompt + len(response)] = 1
            responses[row, : len(response)] = torch.tensor(response, dtype=torch.long)
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode(), torch.autocast(device_type=self.device.type, dtype=torch.bfloat16):
            output = self.model(
                input_ids=input_ids.to(self.device),
                attention_mask=mask.to(self.device),
                position_ids=position_ids.to(self.device),
                use_cache=False,
                # Only the positions that predict a response token: the
                # [rows, width, vocab] logits of a whole batch would be the
                # largest tensor of the forward.
                logits_to_keep=max_response + 1,
            )
            logits = output.logits[:, :-1, :]
            labels = responses.to(self.device)
            rows = [
                torch.log_softmax(row_logits.float(), dim=-1).gather(-1, row_labels.unsqueeze(-1)).squeeze(-1)
                for row_logits, row_labels in zip(logits, labels, strict=True)
            ]
        return [row[: len(r)].tolist() for row, (_, r) in zip(rows, batch, strict=True)]


def _safetensors_elements(path: str) -> int:
    # The header alone (8-byte length, then JSON of dtypes and shapes): the
    # check must not read the weights it is deciding whether to load.
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
    total = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for dim in entry["shape"]:
            count *= dim
        total += count
    return total


def estimate_bytes(model_dir: str, token_budget: int, seq_len: int) -> tuple[int, int]:
    """(weights, activations): a ceiling on what Reference.load and one
    forward of token_budget padded tokens, sequences up to seq_len, hold."""
    from transformers import AutoConfig

    files = sorted(f for f in os.listdir(model_dir) if f.endswith(".safetensors"))
    if not files:
        raise FileNotFoundError(f"no *.safetensors weights in {model_dir}")
    weights = 2 * sum(_safetensors_elements(os.path.join(model_dir, f)) for f in files)

    text = AutoConfig.from_pretrained(model_dir).get_text_config()
    hidden, inter, vocab, heads = text.hidden_size, text.intermediate_size, text.vocab_size, text.num_attention_heads
    tokens, seq = token_budget, min(max(seq_len, 1), token_budget)
    activations = (
        tokens * (4 * hidden + 3 * inter) * 2  # residual, attention and MLP working set, bf16
        + tokens * hidden * 8  # RMSNorm's float32 upcast and its output
        + heads * tokens * seq * 4  # attention scores if the kernel materialises them (rows x seq^2 <= tokens x seq)
        + tokens * vocab * 2  # the kept logits, bf16
        + seq * vocab * 8  # one row's float32 logits and log-softmax
    )
    return weights, activations


def available_bytes(device: str) -> int:
    """Free memory on device: host memory for cpu, the allocator's free
    memory for cuda and npu."""
    dev = torch.device(device)
    if dev.type == "cpu":
        return int(psutil.virtual_memory().available)
    if dev.type == "cuda":
        return int(torch.cuda.mem_get_info(dev)[0])
    if dev.type == "npu":
        return int(torch.npu.mem_get_info(dev)[0])  # type: ignore[attr-defined]
    raise ValueError(f"cannot tell the free memory of device {device!r}; supported: cpu, cuda, npu")


def fits(
    model_dir: str,
    device: str = "cpu",
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    seq_len: int = DEFAULT_TOKEN_BUDGET,
    available: int | None = None,
) -> str | None:
    """None if the reference fits device, else one line saying why not and
    what to use instead. available overrides the device's free memory."""
    weights, activations = estimate_bytes(model_dir, token_budget, seq_len)
    free = available_bytes(device) if available is None else available
    # Allocator fragmentation and the interpreter's own use.
    need = int((weights + activations) * 1.2)
    if need <= free:
        return None
    return (
        f"the BF16 reference {model_dir} needs about {need / _GIB:.1f} GiB on {device} "
        f"(weights {weights / _GIB:.1f} GiB, activations {activations / _GIB:.1f} GiB for "
        f"{token_budget} tokens per forward) but {free / _GIB:.1f} GiB is free; "
        "use --reference vllm"
    )
