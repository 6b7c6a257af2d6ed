"""Per-token log-probs out of vLLM's RequestOutput objects: the rollout's
own (SamplingParams(logprobs=0)) and, for `--reference vllm`, a BF16
engine's score of prompt+response (SamplingParams(prompt_logprobs=0,
max_tokens=1)).

The readers take any object with RequestOutput's attributes, so they are
tested without an engine; vllm itself is imported only to build requests.
Both Logprob containers vLLM returns (a list of dicts, or FlatLogprobs) index
as `logprobs[position][token_id].logprob`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rollbench.reference import Sample


def sampled_logprobs(completion: Any) -> list[float]:
    """The rollout's log-prob of each token it sampled, read the way verl's
    rollout does (`verl/workers/rollout/vllm_rollout/vllm_async_server.py`:
    `output.outputs[0].logprobs[i][token_ids[i]].logprob`). completion is a
    vLLM CompletionOutput generated with SamplingParams(logprobs=0)."""
    token_ids, logprobs = completion.token_ids, completion.logprobs
    if logprobs is None:
        raise ValueError("the completion carries no log-probs; it was generated without SamplingParams(logprobs=0)")
    if len(logprobs) != len(token_ids):
        raise ValueError(f"the completion has {len(token_ids)} tokens but {len(logprobs)} log-prob positions")
    return [_logprob(logprobs[j], tok, j) for j, tok in enumerate(token_ids)]


def request_sampled_logprobs(output: Any) -> list[list[float]]:
    """sampled_logprobs of each of a RequestOutput's n completions."""
    return [sampled_logprobs(c) for c in output.outputs]


def reference_prompts(samples: Sequence[Sample]) -> list[dict[str, list[int]]]:
    """A TokensPrompt (a TypedDict) of prompt+response for each sample."""
    return [{"prompt_token_ids": [*prompt, *response]} for prompt, response in samples]


def reference_sampling_params() -> Any:
    """What --reference vllm asks of the BF16 engine: the log-prob of every
    prompt token (the sampled one, rank 0) and a single generated token that
    is discarded. vLLM's prompt_logprobs ignore temperature (rollbench
    samples at 1, so nothing is lost), and SamplingParams skips reading the
    prefix cache for them (vllm/sampling_params.py, __post_init__), so every
    position is computed."""
    from vllm import SamplingParams

    return SamplingParams(prompt_logprobs=0, max_tokens=1, temperature=1.0)


def reference_logprobs(output: Any, sample: Sample) -> list[float]:
    """The response positions of a RequestOutput's prompt_logprobs, for the
    sample that reference_prompts turned into its prompt."""
    prompt, response = sample
    ids = output.prompt_token_ids
    if list(ids) != [*prompt, *response]:
        raise ValueError(f"the output's {len(ids)} prompt tokens are not the sample's prompt+response")
    logprobs = output.prompt_logprobs
    if logprobs is None:
        raise ValueError("the output carries no prompt log-probs; it was generated without prompt_logprobs=0")
    if len(logprobs) != len(ids):
        raise ValueError(f"the output has {len(ids)} prompt tokens but {len(logprobs)} prompt log-prob positions")
    # Position 0 is None (nothing precedes it); position j scores ids[j].
    return [_logprob(logprobs[j], ids[j], j) for j in range(len(prompt), len(ids))]


def score_with_vllm(llm: Any, samples: Sequence[Sample]) -> list[list[float]]:
    """The BF16 vLLM engine llm's log-prob of every response token of every
    sample, in one LLM.generate call."""
    if any(not prompt for prompt, _ in samples):
        raise ValueError("a sample has an empty prompt; its first response token has no context")
    outputs = llm.generate(reference_prompts(samples), reference_sampling_params(), use_tqdm=False)
    return [reference_logprobs(o, s) for o, s in zip(outputs, samples, strict=True)]


def _logprob(position: Any, token: int, j: int) -> float:
    if position is None or token not in position:
        raise ValueError(f"no log-prob for token {token} at position {j}")
    return float(position[token].logprob)
