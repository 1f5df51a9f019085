"""4-bit NF4 double quantization (paper 000: "nf4 type 4-bit double quantization ... computation in bfloat16"),
and the guard against bitsandbytes' silent train-mode trap.

The trap (bitsandbytes 0.50, CPU): ``Linear4bit.forward`` repacks its weight into a CPU inference layout the first
time it runs in eval mode on an input without grad, on CPUs with AVX512-BF16. Hugging Face returns models from
``from_pretrained`` in eval mode, so a single "sanity check" forward before ``.train()`` repacks every layer; the
backward pass then dequantizes the repacked bytes as if they were in the normal layout and the LoRA gradients are
silently wrong. Whether a CPU has AVX512-BF16 varies between machines, so the rule here does not depend on it: a
model loaded for training is put in train mode before anything else, and every 4-bit layer refuses a forward in eval
mode while the guard is attached.
"""

from __future__ import annotations

import torch
from torch import nn

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "uint8": torch.uint8}


def torch_dtype(name: str) -> torch.dtype:
    try:
        return DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; expected one of {sorted(DTYPES)}") from None


def build_bnb_config(quant: dict):
    """transformers BitsAndBytesConfig from the config's ``finetune.quantization`` section.

    ``quant_storage`` matters under DeepSpeed ZeRO-3: it must equal the dtype of the non-quantized weights so ZeRO can
    shard the packed 4-bit tensors like any other parameter (the paper profile sets both to bfloat16).
    """
    from transformers import BitsAndBytesConfig

    if not quant.get("load_in_4bit", True):
        return None
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=quant["quant_type"],
        bnb_4bit_use_double_quant=bool(quant["double_quant"]),
        bnb_4bit_compute_dtype=torch_dtype(quant["compute_dtype"]),
        bnb_4bit_quant_storage=torch_dtype(quant.get("quant_storage", "uint8")),
    )


def four_bit_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    import bitsandbytes as bnb

    return [(name, m) for name, m in model.named_modules() if isinstance(m, bnb.nn.Linear4bit)]


class TrainModeTrapError(RuntimeError):
    """A 4-bit layer ran (or had run) in eval mode on a model meant for training."""


def repacked_layers(model: nn.Module) -> list[str]:
    """4-bit layers whose weight an eval-mode forward has already repacked into the CPU inference layout."""
    return [
        name
        for name, layer in four_bit_layers(model)
        if getattr(getattr(layer.weight, "quant_state", None), "packing_format_for_cpu", False)
    ]


class TrainModeGuard:
    """While attached, a forward through any 4-bit layer outside train mode raises ``TrainModeTrapError``.

    Attaching also checks that no layer was repacked already (a forward happened before the guard). ``detach()``
    removes the hooks, e.g. once training has finished and the adapters are saved.
    """

    def __init__(self, model: nn.Module):
        repacked = repacked_layers(model)
        if repacked:
            raise TrainModeTrapError(
                f"{len(repacked)} 4-bit layers (first: {repacked[0]}) were repacked by an eval-mode forward before "
                "training; their gradients would be wrong. Reload the model and call .train() before any forward."
            )
        self._handles = [layer.register_forward_pre_hook(self._check(name)) for name, layer in four_bit_layers(model)]

    @staticmethod
    def _check(name: str):
        def hook(module, args):
            if not module.training:
                raise TrainModeTrapError(
                    f"4-bit layer {name} ran a forward in eval mode on a model loaded for training. bitsandbytes "
                    "repacks the weights on such a forward and later gradients are silently wrong; keep the model "
                    "in .train() (see claimbench.models.quantization)."
                )

        return hook

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def load_4bit_for_training(model_dir, quant: dict, dtype: str = "bfloat16", attn_implementation: str | None = None,
                           device_map=None):
    """Load a causal LM in 4 bits and put it in train mode before anything can run a forward; attach the guard.

    Returns ``(model, guard)``. The order is the point of this function: ``from_pretrained`` returns an eval-mode
    model, and ``.train()`` is the very next statement.
    """
    from transformers import AutoModelForCausalLM

    bnb_config = build_bnb_config(quant)
    if bnb_config is None:
        raise ValueError("load_4bit_for_training needs finetune.quantization.load_in_4bit: true")
    kwargs = {"quantization_config": bnb_config, "dtype": torch_dtype(dtype)}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if device_map is not None:
        kwargs["device_map"] = device_map
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), **kwargs)
    model.train()
    return model, TrainModeGuard(model)
