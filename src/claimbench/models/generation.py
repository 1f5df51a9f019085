"""Loading a model for inference, and batched greedy generation that matches one-at-a-time generation.

The paper generated one prompt at a time (greedy, 1 beam, repetition penalty 1.1, up to 512 new tokens). We batch for
speed and keep the output identical to one-at-a-time generation (tests compare them, and with ``model.generate``):
- continuous batching (``_continuous``): each prompt is prefilled alone, exactly as one-at-a-time generation does,
  then joins the running batch; rows are left-padded in a shared KV cache with an attention mask and explicit
  position ids, so each row attends to its own tokens only; a finished row leaves at once and the next prompt
  (longest first) takes its slot, so the batch stays full when output lengths differ (an untuned model may write
  30 tokens for one note and run to the 512 cap for the next);
- where the cache cannot be edited that way (a sliding-window layer shorter than the sequences, e.g. Gemma-3's 512),
  static length-sorted batches through ``model.generate`` with left padding. transformers' repetition penalty would
  see the pad tokens there (it penalises every id in ``input_ids``: the pad id, often the end-of-sequence id, in
  padded rows only), so ``PromptOnlyRepetitionPenalty`` applies the same penalty to the real tokens only.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import deque
from dataclasses import dataclass
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
    # A time saving: once a row's last loop_stop_tokens new tokens repeat one unit of at most a quarter of them (4+
    # verbatim repeats, e.g. "| E50.0 | E50.0 ..."), the model stops and the unit's repeats are written out up to
    # the cap, as a greedy model that stays in its loop writes them. 0 = off. Checked on validation notes
    # (benchmarks/loop_stop_validation.py): the answers are the paper's decoding's, character for character.
    loop_stop_tokens: int = 0

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
    model.eval()  # gradients are off inside generate(), not globally: a process may train after it predicts
    return model, tokenizer


class PromptOnlyRepetitionPenalty:
    """transformers' repetition penalty (CTRL, set-based) over each row's real tokens, ignoring its left padding.

    Pad positions are replaced by the row's first real token when marking the ids seen: that token is penalised
    anyway, so the pads add nothing. The penalty itself is ``_penalize``, as in continuous batching.
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
        seen = torch.zeros(scores.shape, dtype=torch.bool, device=scores.device).scatter_(1, ids, True)
        return _penalize(scores, seen, self.penalty)


def loop_period(tokens: list[int], window: int) -> int:
    """The shortest unit length p <= window // 4 whose verbatim repeats fill the last ``window`` tokens, else 0."""
    if window <= 0 or len(tokens) < window:
        return 0
    tail = tokens[-window:]
    return next((p for p in range(1, window // 4 + 1) if all(tail[i] == tail[i + p] for i in range(window - p))), 0)


def repeat_unit(tokens: list[int], period: int, max_new_tokens: int) -> list[int]:
    """``tokens`` continued with their last ``period`` tokens, repeated in phase, up to ``max_new_tokens``."""
    out = list(tokens)
    while len(out) < max_new_tokens:
        out.append(out[-period])
    return out


def write_out_loop(tokens: list[int], window: int, max_new_tokens: int) -> tuple[list[int], bool]:
    """``tokens`` cut where a verbatim loop first fills ``window`` tokens and its unit repeated from there up to
    ``max_new_tokens``: what greedy decoding gives if the model stays in the loop. Unchanged when no loop is found.
    For a finished row of ``model.generate``, whose tokens after the stop are padding."""
    for n in range(window, len(tokens) + 1) if window > 0 else ():
        period = loop_period(tokens[:n], window)
        if period:
            return repeat_unit(tokens[:n], period, max_new_tokens), True
    return list(tokens), False


class VerbatimLoopStop:
    """``model.generate`` stopping criterion (static batches): a row stops once its new tokens end in a verbatim
    loop (``loop_period``); ``write_out_loop`` then cuts its padding and writes the loop out to the cap."""

    def __init__(self, prompt_width: int, window: int):
        self.prompt_width, self.window = prompt_width, window

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        # only the last window of new tokens can hold a loop that loop_period finds
        new = input_ids[:, max(self.prompt_width, input_ids.shape[1] - self.window):].tolist()
        return torch.tensor([loop_period(row, self.window) > 0 for row in new], dtype=torch.bool,
                            device=input_ids.device)


@dataclass
class Generated:
    index: int  # position of the prompt in the input list
    text: str
    n_prompt_tokens: int
    n_new_tokens: int
    seconds: float  # compute time attributed to this prompt: its prefill + its share of each batched step
    batch_seconds: float  # wall time from the start of its generation to its end (its batch's, in static batches)
    batch_size: int  # batch slots
    loop_written_out: bool = False  # loop_stop_tokens: its loop's last repeats were written out, not generated


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
    bar = tqdm(total=len(prompts), desc="generate", unit="case", disable=not progress, mininterval=5)
    longest = max((len(e) for e in encoded), default=0) + settings.max_new_tokens + 1
    if continuous is None:
        continuous = _continuous_ok(model, longest)
    if grammars is not None and len(grammars) != len(prompts):
        raise ValueError(f"{len(grammars)} grammars for {len(prompts)} prompts: give one per prompt")
    import torch

    # no_grad wraps the generator so that gradients are off only while it runs, not in the caller between batches
    batch_fn = torch.no_grad()(_continuous if continuous else _static_batches)
    batches = batch_fn(model, tokenizer, encoded, settings, stops, grammars)
    for results in batches:
        bar.update(len(results))
        yield results
    bar.close()


def _continuous_ok(model, longest: int) -> bool:
    """Whether rows of the model's KV cache can be padded, joined and dropped freely: every layer global, or its
    sliding window longer than ``longest`` (then it never slides)."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    windows = [getattr(layer, "sliding_window", None) for layer in cache.layers]
    return all(w is None or w > longest for w in windows)


def _penalize(logits, seen, penalty: float):
    """transformers' repetition penalty (set-based: every token id seen once or more)."""
    import torch

    return torch.where(seen, torch.where(logits < 0, logits * penalty, logits / penalty), logits)


def _continuous(model, tokenizer, encoded, settings: GenerationSettings, stops: set[int], grammars=None):
    """Continuous batching over a DynamicCache whose rows are left-padded to a common length (attention mask 0 on
    the padding, explicit position ids per row), so each row computes what it would alone."""
    import torch

    matchers = None
    if grammars is not None:
        from claimbench.models.claim_grammar import RowMatchers

        matchers = RowMatchers(grammars)  # matcher k follows prompt k

    device = next(model.parameters()).device
    queue = deque(sorted(range(len(encoded)), key=lambda i: (-len(encoded[i]), i)))  # longest first
    rows: list[dict] = []  # per active row: index, new tokens, seconds, start
    cache = mask = seen = last = pos = None

    def finish(row, done_at):
        new = row["new"]
        cut = next((k for k, t in enumerate(new) if t in stops), None)
        if row.get("loop"):  # the loop was found at this very token: repeat its unit from here
            new = repeat_unit(new, row["loop"], settings.max_new_tokens)
        text = tokenizer.decode(new if cut is None else new[:cut], skip_special_tokens=False)
        return Generated(row["index"], text, len(encoded[row["index"]]), len(new), row["seconds"],
                         done_at - row["start"], settings.batch_size, bool(row.get("loop")))

    while queue or rows:
        finished = []
        # Fill free slots: prefill each new prompt alone (as one-at-a-time generation does), then join the batch.
        while queue and len(rows) < settings.batch_size:
            i = queue.popleft()
            start = time.perf_counter()
            ids = torch.tensor([encoded[i]], device=device)
            # Plain full-attention cache layers: with every sliding window longer than any sequence here
            # (_continuous_ok), a sliding layer would hold exactly the same keys and values, and full layers can be
            # padded, joined and cut by row freely.
            one = _new_cache()
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids),
                        position_ids=torch.arange(ids.shape[1], device=device)[None], past_key_values=one,
                        use_cache=True, logits_to_keep=1)
            logits = out.logits[:, -1, :].to(torch.float32)
            row_seen = torch.zeros(1, logits.shape[-1], dtype=torch.bool, device=device)
            row_seen[0, ids[0].clamp(max=logits.shape[-1] - 1)] = True
            logits = _penalize(logits, row_seen, settings.repetition_penalty)
            if matchers is not None:
                matchers.mask(logits, [i])
            token = int(logits.argmax(-1))
            if matchers is not None:
                matchers.accept(i, token)
            row_seen[0, token] = True
            row = {"index": i, "new": [token], "seconds": time.perf_counter() - start, "start": start}
            if token in stops or settings.max_new_tokens <= 1:
                finished.append(finish(row, time.perf_counter()))
                continue
            length = ids.shape[1]
            row_mask = torch.ones(1, length, dtype=torch.long, device=device)
            if not rows:
                cache, mask, seen = one, row_mask, row_seen
                last = torch.tensor([token], device=device)
                pos = torch.tensor([length], device=device)
            else:
                width = mask.shape[1]
                if length > width:  # the batch gets more left padding
                    _pad_cache_left(cache, length - width)
                    mask = torch.nn.functional.pad(mask, (length - width, 0))
                elif length < width:  # the new row is padded on the left
                    _pad_cache_left(one, width - length)
                    row_mask = torch.nn.functional.pad(row_mask, (width - length, 0))
                for layer, extra in zip(cache.layers, one.layers):
                    layer.keys = torch.cat([layer.keys, extra.keys])
                    layer.values = torch.cat([layer.values, extra.values])
                mask = torch.cat([mask, row_mask])
                seen = torch.cat([seen, row_seen])
                last = torch.cat([last, torch.tensor([token], device=device)])
                pos = torch.cat([pos, torch.tensor([length], device=device)])
            rows.append(row)
        if not rows:
            if finished:
                yield finished
            continue
        # One decoding step for every active row.
        start = time.perf_counter()
        mask = torch.cat([mask, torch.ones(len(rows), 1, dtype=mask.dtype, device=device)], dim=1)
        out = model(input_ids=last[:, None], attention_mask=mask, position_ids=pos[:, None], past_key_values=cache,
                    use_cache=True)
        logits = out.logits[:, -1, :].to(torch.float32)
        logits = _penalize(logits, seen, settings.repetition_penalty)
        if matchers is not None:
            matchers.mask(logits, [row["index"] for row in rows])
        tokens = logits.argmax(-1)
        if matchers is not None:
            for row, token in zip(rows, tokens.tolist()):
                matchers.accept(row["index"], token)
        seen[torch.arange(len(rows), device=device), tokens] = True
        last, pos = tokens, pos + 1
        step = time.perf_counter() - start
        keep = []
        for k, (row, token) in enumerate(zip(rows, tokens.tolist())):
            row["new"].append(token)
            row["seconds"] += step / len(rows)  # a step's time, shared by the rows it served
            row["loop"] = loop_period(row["new"], settings.loop_stop_tokens)  # its unit's length, 0 = none
            if token in stops or len(row["new"]) >= settings.max_new_tokens or row["loop"]:
                finished.append(finish(row, time.perf_counter()))
            else:
                keep.append(k)
        if len(keep) < len(rows):
            index = torch.tensor(keep, dtype=torch.long, device=device)
            rows = [rows[k] for k in keep]
            if rows:
                cache.batch_select_indices(index)
                mask, seen, last, pos = mask[index], seen[index], last[index], pos[index]
                # Columns that are padding in every remaining row are dropped.
                drop = int((mask.sum(0) == 0).long().cumprod(0).sum())
                if drop:
                    _crop_cache_left(cache, drop)
                    mask = mask[:, drop:]
            else:
                cache = mask = seen = last = pos = None
        if finished:
            log.debug("%d finished, %d active, %d waiting", len(finished), len(rows), len(queue))
            yield finished


@functools.cache
def _growable_layer_class():
    """A transformers ``DynamicLayer`` that appends in place.

    ``DynamicLayer.update`` concatenates the whole cache with each new token, copying every key and value once per
    decoding step: ~40% of a batch-8 step of SmolLM2 on this CPU (torch profiler). This layer keeps keys and values
    in buffers with room for ``GROW`` more positions, writes new ones in place and hands out views of the filled
    part; a buffer is copied only when it is full. Assigning ``keys``/``values`` (as ``batch_select_indices`` and the
    padding helpers below do) replaces the buffer, so every other ``DynamicLayer`` method works unchanged.
    """
    import torch
    from transformers.cache_utils import DynamicLayer

    def buffered(name):
        """A property over buffer ``_<name>`` and its filled length ``_<name>_length``; assigning a tensor replaces
        both (keys and values keep their own lengths, so assigning one never changes what the other reads)."""

        def get(self):
            buffer = getattr(self, f"_{name}", None)
            return None if buffer is None else buffer[..., : getattr(self, f"_{name}_length"), :]

        def set_(self, value):  # lazy_initialization assigns an empty 1-d tensor
            setattr(self, f"_{name}", value)
            setattr(self, f"_{name}_length", value.shape[-2] if value is not None and value.dim() == 4 else 0)

        return property(get, set_)

    class GrowableLayer(DynamicLayer):
        GROW = 256
        keys = buffered("keys")
        values = buffered("values")

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            n, new = self._keys_length, key_states.shape[-2]
            if self._keys.dim() != 4 or n + new > self._keys.shape[-2]:
                room = n + new + self.GROW
                keys = key_states.new_empty((*key_states.shape[:-2], room, key_states.shape[-1]))
                values = value_states.new_empty((*value_states.shape[:-2], room, value_states.shape[-1]))
                if n:
                    keys[..., :n, :] = self.keys
                    values[..., :n, :] = self.values
                self._keys, self._values = keys, values
            self._keys[..., n : n + new, :] = key_states
            self._values[..., n : n + new, :] = value_states
            self._keys_length = self._values_length = n + new
            return self.keys, self.values

    return GrowableLayer


def _new_cache():
    """An empty ``DynamicCache`` whose layers (created on first use) are ``_growable_layer_class()``."""
    from transformers import DynamicCache

    cache = DynamicCache()
    cache.layer_class_to_replicate = _growable_layer_class()
    return cache


def _pad_cache_left(cache, n: int) -> None:
    import torch

    for layer in cache.layers:
        layer.keys = torch.nn.functional.pad(layer.keys, (0, 0, n, 0))
        layer.values = torch.nn.functional.pad(layer.values, (0, 0, n, 0))


def _crop_cache_left(cache, n: int) -> None:
    for layer in cache.layers:
        layer.keys = layer.keys[:, :, n:, :]
        layer.values = layer.values[:, :, n:, :]


def _static_batches(model, tokenizer, encoded, settings: GenerationSettings, stops: set[int], grammars=None):
    """Length-sorted batches through ``model.generate`` (left padding, attention mask, pad-blind penalty, and with
    ``grammars`` xgrammar's logits processor after the penalty)."""
    import torch
    from transformers import LogitsProcessorList, StoppingCriteriaList

    pad_id = tokenizer.pad_token_id
    device = next(model.parameters()).device
    for batch in length_sorted_batches([len(e) for e in encoded], settings.batch_size):
        width = max(len(encoded[i]) for i in batch)
        pad_lengths = [width - len(encoded[i]) for i in batch]
        input_ids = torch.tensor([[pad_id] * p + encoded[i] for p, i in zip(pad_lengths, batch)], device=device)
        attention_mask = torch.tensor(
            [[0] * p + [1] * len(encoded[i]) for p, i in zip(pad_lengths, batch)], device=device
        )
        processors = [PromptOnlyRepetitionPenalty(settings.repetition_penalty, pad_lengths)]
        if grammars is not None:
            from xgrammar.contrib.hf import LogitsProcessor as GrammarProcessor

            processors.append(GrammarProcessor([grammars[i] for i in batch]))
        criteria = [VerbatimLoopStop(width, settings.loop_stop_tokens)] if settings.loop_stop_tokens else []
        start = time.perf_counter()
        output = model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            max_new_tokens=settings.max_new_tokens,
            do_sample=False,
            num_beams=1,
            repetition_penalty=1.0,  # applied by PromptOnlyRepetitionPenalty instead
            logits_processor=LogitsProcessorList(processors),
            stopping_criteria=StoppingCriteriaList(criteria),
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
            written, looped = write_out_loop(new[:n_new], settings.loop_stop_tokens, settings.max_new_tokens)
            if looped:  # the row stopped in a loop (its later tokens are padding): the loop written out instead
                new, n_new, cut = written, len(written), None
            text = tokenizer.decode(new[: n_new if cut is None else cut], skip_special_tokens=False)
            results.append(Generated(i, text, len(encoded[i]), n_new, seconds / len(batch), seconds, len(batch),
                                     looped))
        log.info("batch of %d (prompt %d tokens): %d new tokens in %.1f s", len(batch), width,
                 sum(r.n_new_tokens for r in results), seconds)
        yield results

