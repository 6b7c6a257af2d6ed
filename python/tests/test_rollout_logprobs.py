"""The readers against stand-ins for vLLM's output objects (no engine):
StandIn* mirror vllm.outputs.RequestOutput / CompletionOutput and
vllm.logprobs.Logprob / FlatLogprobs in the attributes the readers use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from rollbench import rollout_logprobs as rl


@dataclass
class StandInLogprob:
    logprob: float
    rank: int | None = None


@dataclass
class StandInCompletion:
    token_ids: list[int]
    logprobs: Any


@dataclass
class StandInRequestOutput:
    prompt_token_ids: list[int]
    prompt_logprobs: Any = None
    outputs: list[StandInCompletion] = field(default_factory=list)


class StandInFlatLogprobs:
    """Like vllm.logprobs.FlatLogprobs: flat lists, a dict per position on
    indexing."""

    def __init__(self, positions: Sequence[dict[int, StandInLogprob] | None]) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.token_ids: list[int] = []
        self.values: list[float] = []
        for p in positions:
            self.starts.append(len(self.values))
            for tok, lp in (p or {}).items():
                self.token_ids.append(tok)
                self.values.append(lp.logprob)
            self.ends.append(len(self.values))

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, j: int) -> dict[int, StandInLogprob]:
        return {self.token_ids[i]: StandInLogprob(self.values[i]) for i in range(self.starts[j], self.ends[j])}


def _positions(tokens: list[int], values: list[float], extra: bool = False) -> list[dict[int, StandInLogprob]]:
    # logprobs=0 gives the sampled token only; a top-k entry is another id.
    out = []
    for tok, v in zip(tokens, values, strict=True):
        pos = {tok: StandInLogprob(v, rank=3)}
        if extra:
            pos[tok + 1] = StandInLogprob(-0.01, rank=1)
        out.append(pos)
    return out


@pytest.mark.parametrize("flat", [False, True])
@pytest.mark.parametrize("extra", [False, True])
def test_sampled_logprobs(flat: bool, extra: bool) -> None:
    tokens, values = [5, 9, 5, 2], [-1.5, -0.25, -3.0, -0.0]
    positions: Any = _positions(tokens, values, extra)
    if flat:
        positions = StandInFlatLogprobs(positions)
    assert rl.sampled_logprobs(StandInCompletion(tokens, positions)) == values


def test_sampled_logprobs_of_an_empty_completion() -> None:
    assert rl.sampled_logprobs(StandInCompletion([], [])) == []


def test_request_sampled_logprobs_keeps_completion_order() -> None:
    out = StandInRequestOutput(
        [1, 2],
        outputs=[
            StandInCompletion([3], _positions([3], [-0.5])),
            StandInCompletion([4, 6], _positions([4, 6], [-1.0, -2.0])),
        ],
    )
    assert rl.request_sampled_logprobs(out) == [[-0.5], [-1.0, -2.0]]


@pytest.mark.parametrize(
    ("completion", "message"),
    [
        (StandInCompletion([1, 2], None), "without SamplingParams\\(logprobs=0\\)"),
        (StandInCompletion([1, 2], _positions([1], [-1.0])), "2 tokens but 1 log-prob positions"),
        (StandInCompletion([1, 2], _positions([1, 3], [-1.0, -2.0])), "no log-prob for token 2 at position 1"),
    ],
)
def test_sampled_logprobs_rejects(completion: StandInCompletion, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rl.sampled_logprobs(completion)


def test_reference_prompts() -> None:
    assert rl.reference_prompts([([1, 2], [3]), ([4], [])]) == [
        {"prompt_token_ids": [1, 2, 3]},
        {"prompt_token_ids": [4]},
    ]


def _scored(prompt: list[int], response: list[int], values: list[float], flat: bool = False) -> StandInRequestOutput:
    ids = [*prompt, *response]
    positions: list[Any] = [None, *_positions(ids[1:], values)]
    logprobs: Any = StandInFlatLogprobs(positions) if flat else positions
    return StandInRequestOutput(ids, logprobs, [StandInCompletion([7], None)])


@pytest.mark.parametrize("flat", [False, True])
def test_reference_logprobs_reads_the_response_positions(flat: bool) -> None:
    # prompt_logprobs[j] scores ids[j]: positions 1..2 are the prompt's, 3..4 the response's.
    out = _scored([10, 11, 12], [13, 14], [-0.1, -0.2, -0.3, -0.4], flat)
    assert rl.reference_logprobs(out, ([10, 11, 12], [13, 14])) == [-0.3, -0.4]
    assert rl.reference_logprobs(_scored([10], [], [], flat), ([10], [])) == []
    assert rl.reference_logprobs(_scored([10], [11], [-2.0], flat), ([10], [11])) == [-2.0]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (_scored([1, 2], [4], [-1.0, -1.0]), "prompt tokens are not the sample's prompt\\+response"),
        (StandInRequestOutput([1, 2, 3], None), "without prompt_logprobs=0"),
        (StandInRequestOutput([1, 2, 3], [None, {2: StandInLogprob(-1.0)}]), "3 prompt tokens but 2"),
        (
            StandInRequestOutput([1, 2, 3], [None, {2: StandInLogprob(-1.0)}, {9: StandInLogprob(-1.0)}]),
            "token 3 at position 2",
        ),
    ],
)
def test_reference_logprobs_rejects(output: StandInRequestOutput, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rl.reference_logprobs(output, ([1, 2], [3]))


class StandInLLM:
    """Answers LLM.generate scoring every prompt token t with -t."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any]] = []

    def generate(self, prompts: list[dict[str, list[int]]], params: Any, use_tqdm: bool) -> list[StandInRequestOutput]:
        self.calls.append((prompts, params))
        outs = []
        for p in prompts:
            ids = p["prompt_token_ids"]
            positions = [None, *({tok: StandInLogprob(-float(tok))} for tok in ids[1:])]
            outs.append(StandInRequestOutput(ids, positions))
        return outs


def test_score_with_vllm(monkeypatch: pytest.MonkeyPatch) -> None:
    # SamplingParams itself needs vllm (seconds to import); the stand-in
    # engine checks what reaches generate.
    monkeypatch.setattr(rl, "reference_sampling_params", lambda: "params")
    llm = StandInLLM()
    assert rl.score_with_vllm(llm, [([1, 2], [3, 4]), ([5], [])]) == [[-3.0, -4.0], []]
    assert llm.calls == [([{"prompt_token_ids": [1, 2, 3, 4]}, {"prompt_token_ids": [5]}], "params")]
    with pytest.raises(ValueError, match="empty prompt"):
        rl.score_with_vllm(llm, [([], [3])])
