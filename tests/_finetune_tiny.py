"""Helpers for the fine-tuning tests: tiny models of the three architectures, a word-level tokenizer, a few records.

Everything is built in memory from configs (no download, no GGUF), so the tests run anywhere in seconds.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import yaml

from claimbench.claim import Claim
from claimbench.prompts import templates, training_pair

ARCHITECTURES = ("llama", "gemma3", "phi3")
SMALL = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)


def records(n: int = 6) -> list[dict]:
    """Encounters of the data contract, varied enough that the claims differ."""
    sides = [("right", "RT", "G56.01"), ("left", "LT", "G56.02")]
    out = []
    for i in range(n):
        side, modifier, icd = sides[i % 2]
        out.append({
            "encounter_id": f"E{i:03d}",
            "surgery_date": "2021-03-0" + str(1 + i % 9),
            "fiscal_year": 2021,
            "service": "Orthopedics",
            "patient_age": 40 + i,
            "patient_sex": "F" if i % 2 else "M",
            "op_note": (f"OPERATIVE REPORT . Patient {i} had carpal tunnel syndrome of the {side} wrist . "
                        f"An open carpal tunnel release was performed on the {side} side . " * (1 + i % 3)).strip(),
            "icd10": [icd],
            "cpt_lines": [{"provider": "Doe, Jane MD", "cpt": "64721", "modifiers": [modifier],
                           "description": "Release of the median nerve at the carpal tunnel"}],
        })
    return out


def tokenizer(phi3: bool = False):
    """A word-level tokenizer covering every word of the prompts and claims of ``records()``."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    no_template = SimpleNamespace(chat_template=None, bos_token="<s>", eos_token="</s>")
    specials = ["<pad>", "<unk>", "<s>", "</s>"]
    pretok = pre_tokenizers.Whitespace()
    texts = []
    for rec in records(12):
        for family in ("phi3", "chat_template"):
            texts.extend(training_pair(rec["op_note"], Claim.from_record(rec), family, no_template))
    words = sorted({w for text in texts for w, _ in pretok.pre_tokenize_str(text)} - set(specials))
    vocab = {tok: i for i, tok in enumerate(specials + words)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pretok
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                                  eos_token="</s>")
    if phi3:
        tok.add_tokens([t for t in templates()["phi3"]["special_tokens"] if t != "<s>"], special_tokens=True)
    return tok


def config(architecture: str, tok):
    from transformers import Gemma3TextConfig, LlamaConfig, Phi3Config

    ids = dict(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
               pad_token_id=tok.pad_token_id)
    if architecture == "llama":  # tied head, like SmolLM2
        return LlamaConfig(**SMALL, **ids, head_dim=16, tie_word_embeddings=True, initializer_range=0.2)
    if architecture == "gemma3":  # tied head, sliding + global layers, like Gemma 3
        return Gemma3TextConfig(**SMALL, **ids, head_dim=16, query_pre_attn_scalar=16, sliding_window=64,
                                layer_types=["sliding_attention", "full_attention"], initializer_range=0.2)
    if architecture == "phi3":  # fused qkv / gate_up, untied head, like Phi-3
        return Phi3Config(**SMALL, **ids, tie_word_embeddings=False, initializer_range=0.2)
    raise ValueError(architecture)


def save_model(architecture: str, out_dir: Path, seed: int = 0) -> Path:
    """A seeded random tiny model + its tokenizer, saved as a Hugging Face folder."""
    import torch
    from transformers import AutoModelForCausalLM

    tok = tokenizer(phi3=architecture == "phi3")
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config(architecture, tok), dtype=torch.float32)
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir


def write_train(path: Path, n: int = 6) -> Path:
    from claimbench.data.io import write_encounters

    write_encounters(records(n), path)
    return path


def default_settings(**data) -> dict:
    """config.yaml's ``finetune`` section with the smoke profile's sizes (and ``data`` overrides)."""
    from claimbench.plan.finetune import deep_merge, settings_for

    root = Path(__file__).resolve().parents[1]
    section = yaml.safe_load((root / "config.yaml").read_text())["finetune"]
    smoke = yaml.safe_load((root / "profiles/smoke/overrides.yaml").read_text()).get("finetune") or {}
    settings = settings_for(deep_merge(section, smoke), "ft-mini")
    settings["data"] = {**settings["data"], **data}
    settings["training"] = {**settings["training"], "max_steps": 2, "gradient_accumulation_steps": 1}
    return settings
