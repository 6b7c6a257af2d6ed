from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open

from rollbench import tinymodel

os.environ.setdefault("HF_HUB_OFFLINE", "1")

EXPECTED_FILES = [
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
]
PROJECTIONS = {
    "self_attn.q_proj": (128, 128),
    "self_attn.k_proj": (64, 128),
    "self_attn.v_proj": (64, 128),
    "self_attn.o_proj": (128, 128),
    "mlp.gate_proj": (256, 128),
    "mlp.up_proj": (256, 128),
    "mlp.down_proj": (128, 256),
}


@pytest.fixture(scope="module")
def generate(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, int, str], Path]:
    cache: dict[tuple[str, int, str], Path] = {}

    def _generate(quant: str, seed: int = 0, copy: str = "a") -> Path:
        key = (quant, seed, copy)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"{quant}-{seed}-{copy}")
            assert tinymodel.write_tiny_model(str(out), quant=quant, seed=seed) == str(out)
            cache[key] = out
        return cache[key]

    return _generate


def _hashes(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def _tensors(directory: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(directory / "model.safetensors"), framework="pt") as f:
        return {name: f.get_tensor(name) for name in f.keys()}


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("quant", ["bf16", "w8a8"])
def test_regeneration_is_byte_identical(generate: Callable[..., Path], quant: str) -> None:
    first = _hashes(generate(quant, 0, "a"))
    second = _hashes(generate(quant, 0, "b"))
    assert sorted(first) == EXPECTED_FILES
    assert first == second


def test_overwrites_existing_directory(generate: Callable[..., Path], tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("stale", encoding="utf-8")
    tinymodel.write_tiny_model(str(tmp_path), quant="bf16", seed=0)
    assert _hashes(tmp_path) == _hashes(generate("bf16"))


def test_seed_changes_weights_only(generate: Callable[..., Path]) -> None:
    seed0 = _hashes(generate("bf16", 0))
    seed1 = _hashes(generate("bf16", 1))
    assert seed0["model.safetensors"] != seed1["model.safetensors"]
    assert {k: v for k, v in seed0.items() if k != "model.safetensors"} == {
        k: v for k, v in seed1.items() if k != "model.safetensors"
    }


def test_tokenizer_loads_with_special_tokens(generate: Callable[..., Path]) -> None:
    from transformers import AutoTokenizer

    model_dir = generate("bf16")
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    config = _json(model_dir / "config.json")

    assert len(tok) == 1024
    assert config["vocab_size"] >= len(tok)
    assert tok.eos_token == "<|endoftext|>"
    assert tok.eos_token_id == 0
    assert tok.pad_token_id == tok.eos_token_id
    assert tok.model_max_length == 2048
    assert tok.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"]) == [1, 2]
    assert config["eos_token_id"] == config["bos_token_id"] == tok.eos_token_id

    text = "The night train crossed a river, and 3 + 4 = 7.\nZebras? Ünïcödé!"
    ids = tok(text, add_special_tokens=True).input_ids
    assert all(0 <= i < 1024 for i in ids)
    assert tok.decode(ids) == text
    # BPE actually merged common English words instead of falling back to bytes.
    assert len(tok(" the weather").input_ids) <= 3


def test_chat_template_applies(generate: Callable[..., Path]) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(generate("bf16")))
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi there"},
    ]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi there<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    ids = tok(text, add_special_tokens=False).input_ids
    assert ids[0] == 1
    assert ids.count(1) == 3 and ids.count(2) == 2


@pytest.mark.parametrize("quant", ["bf16", "w8a8"])
def test_config_fields(generate: Callable[..., Path], quant: str) -> None:
    from transformers import AutoConfig

    model_dir = generate(quant)
    raw = _json(model_dir / "config.json")
    assert raw["architectures"] == ["Qwen3ForCausalLM"]
    assert raw["torch_dtype"] == "bfloat16"
    assert raw["tie_word_embeddings"] is False
    assert _json(model_dir / "generation_config.json") == {"bos_token_id": 0, "eos_token_id": 0}

    cfg = AutoConfig.from_pretrained(str(model_dir))
    assert cfg.model_type == "qwen3"
    assert (cfg.vocab_size, cfg.hidden_size, cfg.intermediate_size) == (1024, 128, 256)
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.num_key_value_heads) == (2, 2, 1)
    assert (cfg.head_dim, cfg.max_position_embeddings) == (64, 2048)
    assert cfg.hidden_act == "silu" and cfg.attention_bias is False
    assert cfg.rms_norm_eps == 1e-6
    assert cfg.rope_parameters["rope_theta"] == 1000000.0
    assert cfg.layer_types == ["full_attention", "full_attention"]
    if quant == "bf16":
        assert "quantization_config" not in raw
    else:
        qc = raw["quantization_config"]
        assert qc["quant_method"] == "compressed-tensors"
        assert qc["format"] == "int-quantized"
        assert qc["ignore"] == ["lm_head"]
        group = qc["config_groups"]["group_0"]
        assert group["targets"] == ["Linear"]
        assert group["weights"]["strategy"] == "channel" and group["weights"]["dynamic"] is False
        assert group["input_activations"]["strategy"] == "token"
        assert group["input_activations"]["dynamic"] is True


def test_bf16_weights(generate: Callable[..., Path]) -> None:
    tensors = _tensors(generate("bf16"))
    expected = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"}
    for i in range(2):
        p = f"model.layers.{i}."
        expected |= {p + m + ".weight" for m in PROJECTIONS}
        expected |= {
            p + "input_layernorm.weight",
            p + "post_attention_layernorm.weight",
            p + "self_attn.q_norm.weight",
            p + "self_attn.k_norm.weight",
        }
    assert set(tensors) == expected
    assert all(t.dtype == torch.bfloat16 for t in tensors.values())
    assert tensors["model.embed_tokens.weight"].shape == (1024, 128)
    assert tensors["lm_head.weight"].shape == (1024, 128)
    assert tensors["model.layers.1.self_attn.q_norm.weight"].shape == (64,)
    assert torch.equal(tensors["model.norm.weight"], torch.ones(128, dtype=torch.bfloat16))
    for i in range(2):
        for module, shape in PROJECTIONS.items():
            assert tensors[f"model.layers.{i}.{module}.weight"].shape == shape
    std = tensors["lm_head.weight"].float().std().item()
    assert 0.018 < std < 0.022
    assert not torch.equal(tensors["lm_head.weight"], tensors["model.embed_tokens.weight"])


def test_w8a8_weights(generate: Callable[..., Path]) -> None:
    bf16 = _tensors(generate("bf16"))
    w8a8 = _tensors(generate("w8a8"))

    for name in ("lm_head.weight", "model.embed_tokens.weight", "model.norm.weight"):
        assert w8a8[name].dtype == torch.bfloat16
        assert torch.equal(w8a8[name], bf16[name])
    assert not any(k.startswith(("lm_head.", "model.embed_tokens.")) and k.endswith("_scale") for k in w8a8)

    for i in range(2):
        for module, (out_features, in_features) in PROJECTIONS.items():
            prefix = f"model.layers.{i}.{module}"
            weight, scale = w8a8[prefix + ".weight"], w8a8[prefix + ".weight_scale"]
            assert weight.dtype == torch.int8
            assert weight.shape == (out_features, in_features)
            assert scale.dtype == torch.float32
            assert scale.shape == (out_features, 1)
            # Symmetric per-channel: every row uses the full int8 range.
            assert torch.all(weight.abs().amax(dim=1) == 127)
            reference = bf16[prefix + ".weight"].float()
            error = (weight.float() * scale - reference).abs()
            assert torch.all(error <= scale / 2 + 1e-6)

    quantized = {k for k in w8a8 if k.endswith(".weight_scale")}
    assert len(quantized) == 2 * len(PROJECTIONS)


@pytest.mark.parametrize("quant", ["fp8", "int8", "BF16", ""])
def test_unknown_quant_raises(tmp_path: Path, quant: str) -> None:
    out = tmp_path / "model"
    with pytest.raises(ValueError, match=r"supported: bf16, w8a8"):
        tinymodel.write_tiny_model(str(out), quant=quant)
    assert not out.exists()


def test_main_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert tinymodel.main(["--out", str(out), "--quant", "w8a8", "--seed", "3"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert "quantization_config" in _json(out / "config.json")
    with pytest.raises(SystemExit) as excinfo:
        tinymodel.main(["--out", str(out), "--quant", "fp8"])
    assert excinfo.value.code == 2
