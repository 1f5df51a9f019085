"""The attention implementation a model is loaded with: the configured one, or sdpa where FlashAttention-2 cannot run.

profiles/paper asks for flash_attention_2, which needs the flash-attn package (compiled against torch with a CUDA
toolkit, in envs/gpu.yaml only) and a CUDA device. Without them transformers refuses to load the model; we load with
PyTorch's sdpa instead (the same attention, other kernels, so the last bits of the logits may differ) and say so in
the run's meta file and log, so that a reader knows which kernels produced the numbers.
"""

from __future__ import annotations

import importlib.util
import logging

log = logging.getLogger(__name__)

FALLBACK = "sdpa"


def available_attention(requested: str | None) -> tuple[str | None, str | None]:
    """(implementation to load with, note or None). Only flash_attention_2 is ever replaced."""
    if requested != "flash_attention_2":
        return requested, None
    from transformers.utils import is_flash_attn_2_available

    if is_flash_attn_2_available():
        return requested, None
    if importlib.util.find_spec("flash_attn") is None:
        why = "the flash-attn package is not installed (it is in envs/gpu.yaml only)"
    else:
        why = "flash-attn cannot run here (no CUDA device, or a flash-attn version transformers does not accept)"
    note = f"flash_attention_2 was requested but {why}: loaded with {FALLBACK} instead"
    log.warning(note)
    return FALLBACK, note
