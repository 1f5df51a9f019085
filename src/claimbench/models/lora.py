"""LoRA adapters as in paper 000 (Methods, Fine-tuning): rank 64, alpha 16, dropout 0.1 on every linear layer + lm_head.

The paper lists Phi-3's module names (``o_proj, qkv_proj, gate_up_proj, down_proj, lm_head``). Other architectures
name their linear layers differently (Llama/SmolLM2 and Gemma 3 split ``q/k/v_proj`` and ``gate/up_proj``), so the
targets are derived from the model itself: every ``nn.Linear`` inside the decoder stack, plus the output embedding.
Derivation works on a meta-device model built from the config alone, so no weights are needed.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# Config value meaning "derive from the model": all linear layers of the decoder blocks + the output head.
AUTO_TARGETS = "auto"


def meta_model(config):
    """An architecture from its config on the meta device: shapes and module names, no memory, no weights."""
    from transformers import AutoModelForCausalLM
    from transformers.modeling_utils import set_zero3_state

    # set_zero3_state: inside a DeepSpeed ZeRO-3 training process transformers would otherwise wrap the build in
    # zero.Init, which partitions weights (and checks the training batch sizes); a meta model has nothing to partition.
    with torch.device("meta"), set_zero3_state():
        return AutoModelForCausalLM.from_config(config)


def load_config(model_dir: str | Path):
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(str(model_dir))


def output_head_name(model: nn.Module) -> str:
    """Leaf name of the output projection (``lm_head`` in every architecture used here)."""
    head = model.get_output_embeddings()
    for name, module in model.named_modules():
        if module is head:
            return name.rsplit(".", 1)[-1]
    raise ValueError(f"{type(model).__name__} has no output embedding module")


def linear_target_modules(model: nn.Module, include_head: bool = True) -> list[str]:
    """Leaf names of all linear layers (sorted, unique), plus the output head when ``include_head``.

    Linear layers outside the language model's decoder (none in the models used here) would be matched by leaf name
    too; peft matches target names by suffix, which is what we want for repeated decoder blocks.
    """
    head = model.get_output_embeddings()
    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and module is not head
    }
    if include_head:
        names.add(output_head_name(model))
    return sorted(names)


def resolve_target_modules(spec, model: nn.Module) -> list[str]:
    """``auto`` -> derived from the model; a list -> used as given (checked against the model's module names)."""
    if spec in (None, AUTO_TARGETS):
        return linear_target_modules(model)
    wanted = [spec] if isinstance(spec, str) else list(spec)
    leaves = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = sorted(set(wanted) - leaves)
    if missing:
        raise ValueError(f"LoRA target modules {missing} do not exist in {type(model).__name__}")
    return sorted(wanted)


def build_lora_config(lora: dict, target_modules: list[str]):
    """peft LoraConfig from the config's ``finetune.lora`` section."""
    from peft import LoraConfig, TaskType

    return LoraConfig(
        r=int(lora["r"]),
        lora_alpha=int(lora["alpha"]),
        lora_dropout=float(lora["dropout"]),
        target_modules=list(target_modules),
        bias="none",
        task_type=TaskType.CAUSAL_LM,
    )


def _n(param: torch.Tensor) -> int:
    # ZeRO-3 shards parameters to empty tensors and keeps the true size in ds_numel.
    return int(getattr(param, "ds_numel", 0) or param.numel())


def trainable_count(model) -> int:
    """Parameters that train (the adapters), counted exactly under ZeRO-3 sharding too."""
    return sum(_n(p) for p in model.parameters() if p.requires_grad)


def base_counts(model) -> dict:
    """A dense (meta-device) base model's parameters (tied weights counted once), its input embedding weights and
    its normalisation weights."""
    return {
        "total": sum(_n(p) for p in model.parameters()),
        "embeddings": _n(model.get_input_embeddings().weight),
        "norms": sum(_n(p) for mod in model.modules() if "norm" in type(mod).__name__.lower()
                     for p in mod.parameters(recurse=False)),
    }


def lora_param_count(config, lora: dict) -> dict:
    """What a LoRA on this architecture trains, computed with peft on a meta-device model (no weights).

    Returns ``lora`` (the adapter parameters: what this pipeline trains), ``total`` (dense base parameters),
    ``embeddings`` and ``norms`` (input embedding and normalisation weights), and ``paper_convention``
    = lora + embeddings + norms. Paper 000's reported counts equal the latter exactly for Phi-3-mini and -medium
    (tests/test_finetune_params.py), i.e. the paper counted its non-quantized embedding and norm weights as trainable.
    """
    from peft import get_peft_model

    model = meta_model(config)
    base = base_counts(model)
    targets = resolve_target_modules(lora.get("target_modules", AUTO_TARGETS), model)
    with torch.device("meta"):  # the adapters too: no memory, no random init
        peft_model = get_peft_model(model, build_lora_config(lora, targets))
    trainable = trainable_count(peft_model)
    return {
        "lora": trainable,
        **base,
        "paper_convention": trainable + base["embeddings"] + base["norms"],
        "target_modules": targets,
    }


def is_tied(model_dir: str | Path) -> bool:
    """Whether the checkpoint ties its output head to the input embeddings (SmolLM2, Gemma 3 do; Phi-3 does not)."""
    config = load_config(model_dir)
    return bool(getattr(config.get_text_config(), "tie_word_embeddings", False))
