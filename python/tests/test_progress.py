from __future__ import annotations

import fcntl
import os
from types import SimpleNamespace

import pytest

from rollbench.progress import SampleCounter


@pytest.fixture
def pipe():
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    yield r, w
    os.close(r)
    os.close(w)


def _counts(r: int) -> list[int]:
    data = b""
    while True:
        try:
            chunk = os.read(r, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return [int(line) for line in data.split()]


def test_wraps_an_iterable_untouched(pipe):
    prompts = [1, 2, 3]
    assert SampleCounter(pipe[1])(prompts, desc="Rendering prompts") is prompts


def test_counts_samples_written_to_the_pipe(pipe):
    r, w = pipe
    bar = SampleCounter(w)(total=3, desc="Processed prompts", dynamic_ncols=True, postfix="")
    assert bar.format_dict["elapsed"] > 0
    bar.update(2)
    bar.update(2)
    bar.postfix = "est. speed"
    bar.refresh()
    bar.close()
    assert bar.n == 4
    assert _counts(r) == [2, 4]


def test_a_full_pipe_drops_counts_without_blocking(pipe):
    r, w = pipe
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    bar = SampleCounter(w)(total=10**6)
    for _ in range(10**4):
        bar.update(1)
    counts = _counts(r)
    assert 0 < len(counts) < 10**4
    assert counts == sorted(counts)
    # Once the reader catches up, the next count is the whole.
    bar.update(1)
    assert _counts(r) == [10**4 + 1]


def test_vllms_engine_loop_drives_it(pipe):
    """The installed vLLM's own LLM loop, on a stand-in engine that finishes
    a request of 2 samples and then one of 3."""
    offline = pytest.importorskip("vllm.entrypoints.common.offline")
    from vllm.outputs import CompletionOutput, RequestOutput

    def output(i: int, n: int) -> RequestOutput:
        outs = [CompletionOutput(index=j, text="", token_ids=[1, 2], cumulative_logprob=None, logprobs=None) for j in range(n)]
        return RequestOutput(request_id=str(i), prompt=None, prompt_token_ids=[5, 6, 7], prompt_logprobs=None, outputs=outs, finished=True)

    steps = [[output(0, 2)], [output(1, 3)]]
    engine = SimpleNamespace(
        get_num_unfinished_requests=lambda: 2,
        has_unfinished_requests=lambda: bool(steps),
        step=lambda: steps.pop(0),
    )
    llm = SimpleNamespace(llm_engine=engine)
    r, w = pipe
    outs = offline.OfflineInferenceMixin._run_engine(llm, RequestOutput, use_tqdm=SampleCounter(w))
    assert [o.request_id for o in outs] == ["0", "1"]
    assert _counts(r) == [2, 5]
