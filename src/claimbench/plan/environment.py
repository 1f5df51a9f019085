"""Which software environment a model stage needs (imported by rules/common.smk at parse time: no heavy imports).

Two conda environments exist: envs/cpu.yaml (requirements.txt) and envs/gpu.yaml (requirements-gpu.txt: the same plus
DeepSpeed, with flash-attn built by envs/gpu.post-deploy.sh). FlashAttention-2 and DeepSpeed are only in the GPU one,
so a stage whose settings ask for a GPU or for either of them must run there (profiles/paper), and every other stage
stays in the CPU one, which installs on any machine.
"""

from __future__ import annotations

from collections.abc import Mapping

GPU_ONLY_ATTENTION = ("flash_attention_2", "flash_attention_3")


def gpu_env_reasons(stage: Mapping) -> list[str]:
    """Why a model stage's settings (config ``predict``, or ``finetune`` merged with one configuration's overrides)
    need the GPU environment; empty when the CPU environment serves."""
    load = stage.get("load") or {}
    training = stage.get("training") or {}
    reasons = []
    if int(stage.get("gpus") or 0) > 0:
        reasons.append(f"gpus: {stage['gpus']}")
    if str(load.get("device") or "cpu").startswith("cuda"):
        reasons.append(f"load.device: {load['device']}")
    for where, settings in (("load", load), ("training", training)):
        if settings.get("attn_implementation") in GPU_ONLY_ATTENTION:
            reasons.append(f"{where}.attn_implementation: {settings['attn_implementation']}")
    if training.get("deepspeed"):
        reasons.append("training.deepspeed")
    return reasons


def needs_gpu_env(stage: Mapping) -> bool:
    return bool(gpu_env_reasons(stage))
