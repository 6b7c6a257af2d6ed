from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from rollbench import reference, tinymodel
from rollbench.reference import Reference, Sample

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The tiny model's logits stay below 1 in magnitude, where bf16 (8
# significant bits) rounds in steps of at most 2^-8: two computations that
# round differently (padding, another batch shape or kernel) differ by a few
# steps (0.002 measured here between a padded batch and one sequence), while
# reading the wrong position changes log-probs by 0.05-0.5.
BF16_ATOL = 1e-2


def _samples(seed: int) -> list[Sample]:
    rng = random.Random(seed)
    out: list[Sample] = []
    for prompt_len, response_len in [(1, 1), (7, 5), (12, 0), (3, 9), (20, 2), (5, 5), (9, 14)]:
        prompt = [rng.randrange(tinymodel.VOCAB_SIZE) for _ in range(prompt_len)]
        response = [rng.randrange(tinymodel.VOCAB_SIZE) for _ in range(response_len)]
        out.append((prompt, response))
    return out


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tinymodel.write_tiny_model(str(tmp_path_factory.mktemp("bf16"))))


@pytest.fixture(scope="module")
def ref(model_dir: Path) -> Reference:
    return Reference.load(str(model_dir))


def _close(a: list[list[float]], b: list[list[float]]) -> None:
    assert [len(x) for x in a] == [len(x) for x in b]
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(torch.tensor(x), torch.tensor(y), rtol=0.0, atol=BF16_ATOL)


def test_scores_every_response_token(ref: Reference) -> None:
    samples = _samples(0)
    scores = ref.score(samples)
    assert [len(s) for s in scores] == [len(r) for _, r in samples]
    flat = [x for s in scores for x in s]
    assert all(x <= 0.0 for x in flat)
    # A random-weight model is close to uniform: far above -inf, far from 0.
    assert all(-3 * torch.log(torch.tensor(float(tinymodel.VOCAB_SIZE))) < x < -1.0 for x in flat)


@pytest.mark.parametrize("budget", [1, 16, 40, 100_000])
def test_batching_does_not_change_scores(ref: Reference, budget: int) -> None:
    samples = _samples(1)
    _close(ref.score(samples, token_budget=budget), [ref.score([s])[0] for s in samples])


def test_matches_a_direct_forward(ref: Reference) -> None:
    # One sequence, no padding, mask or kept-logits slice: the whole
    # [1, len, vocab] bf16 logits, log-softmax in float32, row t predicting t+1.
    for prompt, response in _samples(2):
        ids = torch.tensor([[*prompt, *response]])
        with torch.inference_mode():
            logits = ref.model(input_ids=ids).logits[0]
        logp = torch.log_softmax(logits.float(), dim=-1)
        want = [logp[len(prompt) - 1 + k, tok].item() for k, tok in enumerate(response)]
        _close(ref.score([(prompt, response)]), [want])


def test_order_is_the_samples_order(ref: Reference) -> None:
    samples = _samples(3)
    forward = ref.score(samples, token_budget=30)
    backward = ref.score(samples[::-1], token_budget=30)
    _close(forward, backward[::-1])


@pytest.mark.parametrize(
    ("sample", "message"),
    [
        (([], [1, 2]), "empty prompt"),
        (([1, tinymodel.VOCAB_SIZE], [2]), f"token id {tinymodel.VOCAB_SIZE}, outside the reference's vocabulary"),
        (([1], [-1]), "token id -1"),
    ],
)
def test_rejects_bad_samples(ref: Reference, sample: Sample, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ref.score([([1, 2], [3]), sample])


def test_refuses_a_quantized_checkpoint(tmp_path: Path) -> None:
    tinymodel.write_tiny_model(str(tmp_path), quant="w8a8")
    with pytest.raises(ValueError, match="is quantized \\(compressed-tensors\\).*bf16 checkpoint"):
        Reference.load(str(tmp_path))


@pytest.mark.parametrize(
    ("lengths", "budget"),
    [
        ([], 8),
        ([(3, 2)], 1),
        ([(3, 2), (3, 2), (3, 2)], 10),
        ([(1, 1), (10, 10), (2, 30), (5, 0), (4, 4), (4, 4)], 40),
        ([(7, 3)] * 50, 64),
    ],
)
def test_plan_batches_covers_every_sample_within_the_budget(lengths: list[tuple[int, int]], budget: int) -> None:
    samples: list[Sample] = [([0] * p, [0] * r) for p, r in lengths]
    batches = reference.plan_batches(samples, budget)
    assert sorted(i for b in batches for i in b) == list(range(len(samples)))
    for b in batches:
        padded = len(b) * (max(lengths[i][0] for i in b) + max(lengths[i][1] for i in b))
        assert len(b) == 1 or padded <= budget


def test_plan_batches_fills_batches() -> None:
    samples: list[Sample] = [([0] * 7, [0] * 3)] * 50
    assert [len(b) for b in reference.plan_batches(samples, 64)] == [6] * 8 + [2]


def test_plan_batches_rejects_a_nonpositive_budget() -> None:
    with pytest.raises(ValueError, match="token budget must be positive"):
        reference.plan_batches([([1], [2])], 0)


def test_estimate_counts_bf16_weights(model_dir: Path) -> None:
    with safe_open(str(model_dir / "model.safetensors"), framework="pt") as f:
        elements = sum(_numel(f.get_slice(name).get_shape()) for name in f.keys())
    weights, activations = reference.estimate_bytes(str(model_dir), 8192, 768)
    assert weights == 2 * elements
    # The kept logits alone: 8192 rows of the 1024-token vocabulary in bf16.
    assert activations > 8192 * tinymodel.VOCAB_SIZE * 2
    assert reference.estimate_bytes(str(model_dir), 16384, 768)[1] > activations


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def test_fits(model_dir: Path) -> None:
    assert reference.fits(str(model_dir)) is None  # a few MB on any host
    assert reference.fits(str(model_dir), available=1 << 40) is None
    reason = reference.fits(str(model_dir), available=1 << 20)
    assert reason is not None
    assert "\n" not in reason
    assert reason.startswith(f"the BF16 reference {model_dir} needs about ")
    assert reason.endswith("0.0 GiB is free; use --reference vllm")


def test_fits_without_weights(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no \\*.safetensors weights"):
        reference.fits(str(tmp_path))


def test_available_bytes() -> None:
    assert reference.available_bytes("cpu") > 0
    with pytest.raises(ValueError, match="cannot tell the free memory of device 'meta'"):
        reference.available_bytes("meta")
