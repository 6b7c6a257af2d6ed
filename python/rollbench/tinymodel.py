"""Write a tiny, randomly initialised Qwen3 model directory that vLLM can load.

The output is fully deterministic (byte-identical files for the same seed and
quant) and needs no network access: the tokenizer is trained on the bundled
corpus.txt and the weights come from a seeded torch generator.

    python -m rollbench.tinymodel --out /tmp/tiny-bf16
    python -m rollbench.tinymodel --out /tmp/tiny-w8a8 --quant w8a8
"""

from __future__ import annotations

import argparse
import json
import os
from importlib import resources
from typing import Any

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

SUPPORTED_QUANTS: tuple[str, ...] = ("bf16", "w8a8")

VOCAB_SIZE = 1024
EOS_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
# Trainer assigns special tokens the lowest ids in this order, so EOS is id 0.
SPECIAL_TOKENS: tuple[str, ...] = (EOS_TOKEN, IM_START, IM_END)

HIDDEN_SIZE = 128
INTERMEDIATE_SIZE = 256
NUM_LAYERS = 2
NUM_HEADS = 2
NUM_KV_HEADS = 1
HEAD_DIM = 64
MAX_POSITIONS = 2048
INIT_STD = 0.02

CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)

# Decoder Linears that the w8a8 variant stores as int8; lm_head stays bf16.
QUANTIZED_PROJECTIONS: tuple[str, ...] = (
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
)

W8A8_QUANTIZATION_CONFIG: dict[str, Any] = {
    "quant_method": "compressed-tensors",
    "format": "int-quantized",
    "quantization_status": "compressed",
    "ignore": ["lm_head"],
    "config_groups": {
        "group_0": {
            "targets": ["Linear"],
            "weights": {
                "num_bits": 8,
                "type": "int",
                "symmetric": True,
                "strategy": "channel",
                "dynamic": False,
            },
            "input_activations": {
                "num_bits": 8,
                "type": "int",
                "symmetric": True,
                "strategy": "token",
                "dynamic": True,
            },
        }
    },
}


def _train_tokenizer() -> Tokenizer:
    corpus = resources.files("rollbench").joinpath("corpus.txt").read_text(encoding="utf-8")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        # All 256 bytes up front so any input text is encodable without <unk>.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # BpeTrainer breaks count ties by pair id, so the merges do not depend on
    # thread count or hash seeds (checked with RAYON_NUM_THREADS=1/2/8).
    tokenizer.train_from_iterator(corpus.splitlines(keepends=True), trainer=trainer)
    if tokenizer.get_vocab_size() != VOCAB_SIZE:
        raise RuntimeError(
            f"tokenizer has {tokenizer.get_vocab_size()} tokens, expected {VOCAB_SIZE}; "
            "corpus.txt is too small for the requested merges"
        )
    return tokenizer


def _tokenizer_config() -> dict[str, Any]:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": EOS_TOKEN,
        "pad_token": EOS_TOKEN,
        "unk_token": None,
        "additional_special_tokens": [IM_START, IM_END],
        "model_max_length": MAX_POSITIONS,
        "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
    }


def _model_config(eos_id: int, quant: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "vocab_size": VOCAB_SIZE,
        "hidden_size": HIDDEN_SIZE,
        "intermediate_size": INTERMEDIATE_SIZE,
        "num_hidden_layers": NUM_LAYERS,
        "num_attention_heads": NUM_HEADS,
        "num_key_value_heads": NUM_KV_HEADS,
        "head_dim": HEAD_DIM,
        "hidden_act": "silu",
        "max_position_embeddings": MAX_POSITIONS,
        "initializer_range": INIT_STD,
        "rms_norm_eps": 1e-6,
        # rope_theta for transformers<5 readers, rope_parameters for >=5.
        "rope_theta": 1000000.0,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0},
        "attention_bias": False,
        "attention_dropout": 0.0,
        "use_sliding_window": False,
        "sliding_window": None,
        "max_window_layers": NUM_LAYERS,
        "tie_word_embeddings": False,
        "use_cache": True,
        "torch_dtype": "bfloat16",
        "bos_token_id": eos_id,
        "eos_token_id": eos_id,
    }
    if quant == "w8a8":
        config["quantization_config"] = W8A8_QUANTIZATION_CONFIG
    return config


def _random_weights(seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)

    # Sample in float32 and cast, so the values only depend on the CPU RNG stream.
    def normal(*shape: int) -> torch.Tensor:
        return (torch.randn(*shape, generator=generator) * INIT_STD).to(torch.bfloat16)

    def ones(size: int) -> torch.Tensor:
        return torch.ones(size, dtype=torch.bfloat16)

    q_size = NUM_HEADS * HEAD_DIM
    kv_size = NUM_KV_HEADS * HEAD_DIM
    weights: dict[str, torch.Tensor] = {"model.embed_tokens.weight": normal(VOCAB_SIZE, HIDDEN_SIZE)}
    for i in range(NUM_LAYERS):
        p = f"model.layers.{i}."
        weights[p + "input_layernorm.weight"] = ones(HIDDEN_SIZE)
        weights[p + "self_attn.q_proj.weight"] = normal(q_size, HIDDEN_SIZE)
        weights[p + "self_attn.k_proj.weight"] = normal(kv_size, HIDDEN_SIZE)
        weights[p + "self_attn.v_proj.weight"] = normal(kv_size, HIDDEN_SIZE)
        weights[p + "self_attn.o_proj.weight"] = normal(HIDDEN_SIZE, q_size)
        weights[p + "self_attn.q_norm.weight"] = ones(HEAD_DIM)
        weights[p + "self_attn.k_norm.weight"] = ones(HEAD_DIM)
        weights[p + "post_attention_layernorm.weight"] = ones(HIDDEN_SIZE)
        weights[p + "mlp.gate_proj.weight"] = normal(INTERMEDIATE_SIZE, HIDDEN_SIZE)
        weights[p + "mlp.up_proj.weight"] = normal(INTERMEDIATE_SIZE, HIDDEN_SIZE)
        weights[p + "mlp.down_proj.weight"] = normal(HIDDEN_SIZE, INTERMEDIATE_SIZE)
    weights["model.norm.weight"] = ones(HIDDEN_SIZE)
    weights["lm_head.weight"] = normal(VOCAB_SIZE, HIDDEN_SIZE)
    return weights


def _quantize_int8_per_channel(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    w = weight.float()
    # float32 [out, 1] matches the ChannelQuantScaleParameter vLLM allocates
    # for CompressedTensorsW8A8Int8, so loading involves no extra rounding.
    scale = (w.abs().amax(dim=1, keepdim=True) / 127.0).clamp_min(torch.finfo(torch.float32).tiny)
    q = torch.round(w / scale).clamp(-128, 127).to(torch.int8)
    return q, scale


def _quantize_w8a8(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for name, tensor in weights.items():
        module = name.removesuffix(".weight")
        if module.endswith(QUANTIZED_PROJECTIONS):
            out[name], out[module + ".weight_scale"] = _quantize_int8_per_channel(tensor)
        else:
            out[name] = tensor
    return out


def _write_json(path: str, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def write_tiny_model(out_dir: str, quant: str = "bf16", seed: int = 0) -> str:
    """Write tokenizer, config and weights of a tiny Qwen3 model to out_dir."""
    if quant not in SUPPORTED_QUANTS:
        raise ValueError(f"unsupported quant {quant!r}; supported: {', '.join(SUPPORTED_QUANTS)}")
    os.makedirs(out_dir, exist_ok=True)

    tokenizer = _train_tokenizer()
    eos_id = tokenizer.token_to_id(EOS_TOKEN)
    tokenizer.save(os.path.join(out_dir, "tokenizer.json"), pretty=True)
    _write_json(os.path.join(out_dir, "tokenizer_config.json"), _tokenizer_config())
    _write_json(os.path.join(out_dir, "config.json"), _model_config(eos_id, quant))
    # Only token ids: vLLM copies sampling fields (temperature, top_p, ...) from
    # here into its default SamplingParams, and we want its own defaults.
    _write_json(
        os.path.join(out_dir, "generation_config.json"),
        {"bos_token_id": eos_id, "eos_token_id": eos_id},
    )

    weights = _random_weights(seed)
    if quant == "w8a8":
        weights = _quantize_w8a8(weights)
    save_file(
        dict(sorted(weights.items())),
        os.path.join(out_dir, "model.safetensors"),
        metadata={"format": "pt"},
    )
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rollbench.tinymodel",
        description="Write a tiny deterministic Qwen3 model directory for vLLM.",
    )
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--quant", choices=SUPPORTED_QUANTS, default="bf16")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(write_tiny_model(args.out, quant=args.quant, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
