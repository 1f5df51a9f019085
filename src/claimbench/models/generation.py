"""Loading a model for inference, and batched greedy generation that matches one-at-a-time generation.

The paper generated one prompt at a time (greedy, 1 beam, repetition penalty 1.1, up to 512 new tokens). We batch
prompts of similar length for speed and keep the output identical to one-at-a-time generation:
- left padding with an attention mask (transformers derives position ids from the mask), so every row sees its own
  prompt exactly as if alone;
- the repetition penalty must not see the pad tokens: transformers' processor penalises every token id present in
  ``input_ids``, pads included, which would penalise the pad id (often the end-of-sequence id) in padded rows only.
  ``PromptOnlyRepetitionPenalty`` applies the same penalty to the real tokens only;
- prompts are sorted by token length, so a batch holds few pads.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

from claimbench.offline import set_offline_env

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings. Defaults are the paper's (Methods, Inference)."""

    max_new_tokens: int = 512
    repetition_penalty: float = 1.1
    num_beams: int = 1
    do_sample: bool = False
    batch_size: int = 8

    def __post_init__(self):
        if self.do_sample or self.num_beams != 1:
            raise ValueError("only greedy decoding (do_sample=False, num_beams=1) is supported, as in the paper")


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
    model.eval()
    torch.set_grad_enabled(False)
    return model, tokenizer


class PromptOnlyRepetitionPenalty:
    """transformers' repetition penalty (CTRL, set-based) over each row's real tokens, ignoring its left padding.

    Pad positions are replaced by the row's first real token before the usual gather/scatter: that token is
    penalised anyway, so a duplicate index writes the same value and the pads add nothing.
    """

    def __init__(self, penalty: float, pad_lengths):
        import torch

        self.penalty = penalty
        self.pad_lengths = torch.as_tensor(pad_lengths, dtype=torch.long)

    def __call__(self, input_ids, scores):
        import torch

        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        pad_lengths = self.pad_lengths.to(input_ids.device)
        first_real = input_ids.gather(1, pad_lengths.unsqueeze(1))
        ids = torch.where(positions.unsqueeze(0) < pad_lengths.unsqueeze(1), first_real, input_ids)
        score = scores.gather(1, ids)
        score = torch.where(score < 0, score * self.penalty, score / self.penalty)
        return scores.scatter(1, ids, score)


@dataclass
class Generated:
    index: int  # position of the prompt in the input list
    text: str
    n_prompt_tokens: int
    n_new_tokens: int
    seconds: float  # the batch's wall time shared equally among its prompts
    batch_seconds: float
    batch_size: int


def stop_token_ids(model, tokenizer) -> set[int]:
    ids = model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, (list, tuple)) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, longest first (a memory problem shows up at once).

    Ties keep input order, so the grouping is deterministic.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def generate(
    model,
    tokenizer,
    prompts: list[str],
    settings: GenerationSettings = GenerationSettings(),
    add_special_tokens: bool = False,
    progress: bool = True,
) -> Iterator[list[Generated]]:
    """Greedy generation over ``prompts``, yielding one list of results per batch (in length-sorted order).

    ``add_special_tokens`` is False by default: chat templates and the Phi-3 layout already contain their BOS.
    """
    import torch
    from tqdm.auto import tqdm

    from transformers import LogitsProcessorList

    encoded = [tokenizer(p, add_special_tokens=add_special_tokens)["input_ids"] for p in prompts]
    batches = length_sorted_batches([len(e) for e in encoded], settings.batch_size)
    stops = stop_token_ids(model, tokenizer)
    pad_id = tokenizer.pad_token_id
    device = next(model.parameters()).device
    bar = tqdm(total=len(prompts), desc="generate", unit="case", disable=not progress, mininterval=5)
    for batch in batches:
        width = max(len(encoded[i]) for i in batch)
        pad_lengths = [width - len(encoded[i]) for i in batch]
        input_ids = torch.tensor([[pad_id] * p + encoded[i] for p, i in zip(pad_lengths, batch)], device=device)
        attention_mask = torch.tensor(
            [[0] * p + [1] * len(encoded[i]) for p, i in zip(pad_lengths, batch)], device=device
        )
        start = time.perf_counter()
        output = model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            max_new_tokens=settings.max_new_tokens,
            do_sample=False,
            num_beams=1,
            repetition_penalty=1.0,  # applied by PromptOnlyRepetitionPenalty instead
            logits_processor=LogitsProcessorList([PromptOnlyRepetitionPenalty(settings.repetition_penalty,
                                                                             pad_lengths)]),
            pad_token_id=pad_id,
            eos_token_id=sorted(stops),
            temperature=None,
            top_p=None,
            top_k=None,
        )
        seconds = time.perf_counter() - start
        results = []
        for row, i in enumerate(batch):
            new = output[row, width:].tolist()
            cut = next((k for k, t in enumerate(new) if t in stops), None)
            n_new = len(new) if cut is None else cut + 1  # the stop token is generated work too
            text = tokenizer.decode(new[: len(new) if cut is None else cut], skip_special_tokens=False)
            results.append(Generated(i, text, len(encoded[i]), n_new, seconds / len(batch), seconds, len(batch)))
        bar.update(len(batch))
        log.info("batch of %d (prompt %d tokens): %d new tokens in %.1f s", len(batch), width,
                 sum(r.n_new_tokens for r in results), seconds)
        yield results
    bar.close()


def settings_dict(settings) -> dict:
    return asdict(settings)
