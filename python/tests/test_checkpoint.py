from __future__ import annotations

import os

import pytest

from rollbench import checkpoint, tinymodel

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def identities(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    out = {}
    for quant in tinymodel.SUPPORTED_QUANTS:
        out[quant] = checkpoint.identity(tinymodel.write_tiny_model(str(tmp_path_factory.mktemp(quant)), quant=quant))
    return out


def test_a_checkpoint_and_its_quantized_variant_are_one_model(identities: dict[str, dict]) -> None:
    bf16, w8a8 = identities["bf16"], identities["w8a8"]
    assert bf16 == w8a8
    assert bf16["shape"]["vocab_size"] == tinymodel.VOCAB_SIZE
    assert bf16["shape"]["architectures"] and bf16["shape"]["num_hidden_layers"] > 0
    assert bf16["tokenizer_size"] <= tinymodel.VOCAB_SIZE
    assert len(bf16["vocab_sha256"]) == 64


def test_the_vocabulary_hash_sees_every_id() -> None:
    vocab = {"a": 0, "b": 1, "c": 2}
    assert checkpoint.vocab_hash(vocab) == checkpoint.vocab_hash(dict(reversed(vocab.items())))
    assert checkpoint.vocab_hash(vocab) != checkpoint.vocab_hash({"a": 0, "b": 2, "c": 1})
    assert checkpoint.vocab_hash(vocab) != checkpoint.vocab_hash({"a": 0, "b": 1})
