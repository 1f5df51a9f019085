"""Merge a trained LoRA adapter into its dense base model (paper 000, Inference: "we merged the trained adapters from
the fine-tuning back into their respective models"), and save a plain Hugging Face model folder for inference.

Tied output heads. SmolLM2 and Gemma 3 share one matrix between the input embedding and ``lm_head``. The adapter on
``lm_head`` changes only the output projection; merging it into a shared matrix would change the input embedding as
well and give a different model. So a tied base is loaded untied (``lm_head`` a copy of the embedding) before merging,
and saved with ``tie_word_embeddings: false``. Phi-3 is untied already.

The merge is checked: logits of the adapter model and of the merged model on a probe sequence are compared, and the
largest difference is recorded in ``merge_stats.json``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import torch

from claimbench.offline import set_offline_env


def _head_targeted(adapter_dir: Path) -> bool:
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    targets = config.get("target_modules") or []
    targets = [targets] if isinstance(targets, str) else targets
    return any(t.rsplit(".", 1)[-1] == "lm_head" for t in targets)


def load_untied(base_dir: str | Path, dtype: torch.dtype):
    """The base model with its output head as its own copy of the input embedding (see the module docstring)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=dtype)
    embedding = model.get_input_embeddings().weight
    head = model.get_output_embeddings()
    if head.weight.data_ptr() == embedding.data_ptr():
        head.weight = torch.nn.Parameter(embedding.detach().clone())
    model.config.tie_word_embeddings = False
    model.config.get_text_config().tie_word_embeddings = False
    return model


def merge_adapter(base_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path, dtype: str = "float32",
                  probe_tokens: int = 32, threads: int | None = None) -> dict:
    """Base + adapter -> merged dense model in ``out_dir`` (+ tokenizer, generation config). Returns merge stats."""
    start = time.time()
    set_offline_env()
    if threads:
        torch.set_num_threads(int(threads))
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from claimbench.models.lora import is_tied
    from claimbench.models.quantization import torch_dtype

    base_dir, adapter_dir, out_dir = Path(base_dir), Path(adapter_dir), Path(out_dir)
    untie = is_tied(base_dir) and _head_targeted(adapter_dir)
    torch_type = torch_dtype(dtype)
    base = load_untied(base_dir, torch_type) if untie else AutoModelForCausalLM.from_pretrained(str(base_dir),
                                                                                                 dtype=torch_type)
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    model.eval()  # dense weights: no 4-bit repacking trap here

    # A fixed probe: the first tokens of the vocabulary after the special ones, the same for every run.
    probe = torch.arange(10, 10 + probe_tokens).unsqueeze(0) % base.config.get_text_config().vocab_size
    with torch.no_grad():
        before = model(probe).logits.float()
        merged = model.merge_and_unload()
        after = merged(probe).logits.float()
    max_abs_diff = float((before - after).abs().max())
    scale = float(before.abs().max())

    if out_dir.exists():
        shutil.rmtree(out_dir)
    merged.save_pretrained(str(out_dir))
    tokenizer = AutoTokenizer.from_pretrained(str(adapter_dir if (adapter_dir / "tokenizer_config.json").exists()
                                                  else base_dir))
    tokenizer.save_pretrained(str(out_dir))
    generation_config = base_dir / "generation_config.json"
    if generation_config.exists() and not (out_dir / "generation_config.json").exists():
        shutil.copy(generation_config, out_dir / "generation_config.json")
    stats = {
        "base_dir": str(base_dir),
        "adapter_dir": str(adapter_dir),
        "dtype": dtype,
        "untied_output_head": untie,
        "probe_tokens": probe_tokens,
        "probe_max_abs_logit_diff": max_abs_diff,
        "probe_max_abs_logit": scale,
        "wall_seconds": time.time() - start,
    }
    return stats
