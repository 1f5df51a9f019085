"""Loading a model for inference: device, dtype, 4-bit quantization and attention as configured."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from claimbench.offline import set_offline_env


@dataclass(frozen=True)
class LoadSettings:
    """How to load a model. CPU default: fp32, no quantization. Paper profile on GPU: nf4 + bf16 + flash-attention-2."""

    device: str = "cpu"  # "cpu", "cuda", "cuda:0", or "auto" (cuda when available)
    dtype: str = "float32"  # "float32" | "bfloat16" | "float16"
    quantization: str | None = None  # None | "nf4" (4-bit NormalFloat, double quantization, as in the paper)
    attn_implementation: str | None = None  # None (transformers' default: sdpa) | "flash_attention_2" | "eager"


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def model_kwargs(settings: LoadSettings) -> dict:
    """``from_pretrained`` keyword arguments for ``settings`` (checked by tests without loading any weights)."""
    import torch

    dtype = getattr(torch, settings.dtype)
    kwargs: dict = {"dtype": dtype}
    if settings.quantization == "nf4":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
    elif settings.quantization is not None:
        raise ValueError(f"unknown quantization {settings.quantization!r}; expected null or 'nf4'")
    if settings.attn_implementation:
        kwargs["attn_implementation"] = settings.attn_implementation
    return kwargs


def load_for_inference(model_dir: str | Path, settings: LoadSettings = LoadSettings()):
    """(model, tokenizer) in eval mode on the configured device; the tokenizer pads on the left."""
    set_offline_env()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = resolve_device(settings.device)
    kwargs = model_kwargs(settings)
    if device != "cpu":
        kwargs["device_map"] = {"": device}
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
    if device == "cpu" and settings.quantization is None:
        model.to("cpu")
    model.eval()  # gradients are off inside generate(), not globally: a process may train after it predicts
    return model, tokenizer
