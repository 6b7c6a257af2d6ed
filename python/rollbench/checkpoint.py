"""What a checkpoint is, apart from its weights' precision: enough to tell
whether a reference scores the model a samples file came from. A checkpoint
and its quantized variants share all of it; another model does not."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def identity(model_dir: str) -> dict[str, Any]:
    """The model's architecture and shape (its config's text part) and its
    tokenizer's vocabulary: the number of ids and a SHA-256 of the
    token-to-id map, which two tokenizers share only if every id means the
    same token."""
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(model_dir)
    text = config.get_text_config()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return {
        "shape": {
            "architectures": list(getattr(config, "architectures", None) or []),
            "hidden_size": int(text.hidden_size),
            "num_hidden_layers": int(text.num_hidden_layers),
            "vocab_size": int(text.vocab_size),
        },
        "tokenizer_size": len(tokenizer),
        "vocab_sha256": vocab_hash(tokenizer.get_vocab()),
    }


def vocab_hash(vocab: dict[str, int]) -> str:
    """SHA-256 of the token-to-id map in id order, as JSON."""
    pairs = sorted(vocab.items(), key=lambda kv: (kv[1], kv[0]))
    return hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode()).hexdigest()
