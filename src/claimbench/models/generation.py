"""Batched greedy generation that matches one-at-a-time generation (models load through claimbench.models.loading).

The paper generated one prompt at a time (greedy, 1 beam, repetition penalty 1.1, up to 512 new tokens). We batch for
speed and keep the output identical to one-at-a-time generation (tests compare them, and with ``model.generate``):
- continuous batching (``claimbench.models.decoders.continuous``): each prompt is prefilled alone, exactly as
  one-at-a-time generation does, then joins the running batch; rows are left-padded in a shared KV cache with an
  attention mask and explicit position ids, so each row attends to its own tokens only; a finished row leaves at once
  and the next prompt (longest first) takes its slot, so the batch stays full when output lengths differ (an untuned
  model may write 30 tokens for one note and run to the 512 cap for the next);
- where the cache cannot be edited that way (a sliding-window layer shorter than the sequences, e.g. Gemma-3's 512),
  static length-sorted batches through ``model.generate`` (``decoders.static_batches``) with left padding.
  transformers' repetition penalty would see the pad tokens there (it penalises every id in ``input_ids``: the pad id,
  often the end-of-sequence id, in padded rows only), so ``PromptOnlyRepetitionPenalty`` applies the same penalty to
  the real tokens only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from claimbench.models import decoders, kv_cache
from claimbench.models.decoders import Generated


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings. Defaults are the paper's (Methods, Inference)."""

    max_new_tokens: int = 512
    repetition_penalty: float = 1.1
    num_beams: int = 1
    do_sample: bool = False
    batch_size: int = 8
    # A time saving: once a row's last loop_stop_tokens new tokens repeat one unit of at most a quarter of them (4+
    # verbatim repeats, e.g. "| E50.0 | E50.0 ..."), the model stops and the unit's repeats are written out up to
    # the cap, as a greedy model that stays in its loop writes them. 0 = off. Checked on validation notes
    # (experiments/loop_stop_validation.py): the answers are the paper's decoding's, character for character.
    loop_stop_tokens: int = 0

    def __post_init__(self):
        if self.do_sample or self.num_beams != 1:
            raise ValueError("only greedy decoding (do_sample=False, num_beams=1) is supported, as in the paper")


def stop_token_ids(model, tokenizer) -> set[int]:
    ids = model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, (list, tuple)) else [ids] if ids is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def generate(
    model,
    tokenizer,
    prompts: list[str],
    settings: GenerationSettings = GenerationSettings(),
    add_special_tokens: bool = False,
    progress: bool = True,
    continuous: bool | None = None,
    grammars: list | None = None,
) -> Iterator[list[Generated]]:
    """Greedy generation over ``prompts``, yielding lists of finished results as they complete.

    Continuous batching where the model's KV cache allows it (every attention layer global, or its sliding window
    longer than any sequence here): up to ``batch_size`` sequences decode together, a finished one leaves at once
    and the next prompt (longest first) takes its slot. Otherwise (e.g. Gemma-3's 512-token sliding window) static
    length-sorted batches through ``model.generate``. Both give the one-at-a-time output.

    ``add_special_tokens`` is False by default: chat templates and the Phi-3 layout already contain their BOS.
    ``continuous``: None = continuous batching where possible; False = static batches (tests, benchmarks).
    ``grammars``: one compiled xgrammar grammar per prompt (``claimbench.models.claim_grammar``, beyond the paper):
    at each step the tokens its grammar forbids are masked after the repetition penalty, before the greedy choice.
    None (the paper's configurations) leaves decoding untouched.
    """
    from tqdm.auto import tqdm

    encoded = [tokenizer(p, add_special_tokens=add_special_tokens)["input_ids"] for p in prompts]
    stops = stop_token_ids(model, tokenizer)
    # notes done, notes per minute (a note takes seconds to minutes on a CPU: per second reads as 0.0) and time left
    bar = tqdm(total=len(prompts), desc="generate", disable=not progress, mininterval=5,
               bar_format="{desc}: {n_fmt}/{total_fmt} notes {bar} [{elapsed}<{remaining}{postfix}]")
    longest = max((len(e) for e in encoded), default=0) + settings.max_new_tokens + 1
    if continuous is None:
        continuous = kv_cache.rows_editable(model, longest)
    if grammars is not None and len(grammars) != len(prompts):
        raise ValueError(f"{len(grammars)} grammars for {len(prompts)} prompts: give one per prompt")
    import torch

    # no_grad wraps the generator so that gradients are off only while it runs, not in the caller between batches
    batch_fn = torch.no_grad()(decoders.continuous if continuous else decoders.static_batches)
    batches = batch_fn(model, tokenizer, encoded, settings, stops, grammars)
    for results in batches:
        bar.update(len(results))
        elapsed = bar.format_dict["elapsed"]
        if elapsed > 0:
            bar.set_postfix_str(f"{60 * bar.n / elapsed:.1f} notes/min", refresh=False)
        yield results
    bar.close()
