"""The two batched greedy decoders behind ``claimbench.models.generation.generate``, each giving the one-at-a-time
output: continuous batching over an editable KV cache (``continuous``), and static length-sorted batches through
``model.generate`` (``static_batches``) where the cache cannot be edited that way."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from claimbench.models import kv_cache
from claimbench.models.loops import VerbatimLoopStop, loop_period, repeat_unit, write_out_loop

if TYPE_CHECKING:
    from claimbench.models.generation import GenerationSettings

log = logging.getLogger(__name__)


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


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, longest first (a memory problem shows up at once).

    Ties keep input order, so the grouping is deterministic.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def penalize(logits, seen, penalty: float):
    """transformers' repetition penalty (set-based: every token id seen once or more)."""
    import torch

    return torch.where(seen, torch.where(logits < 0, logits * penalty, logits / penalty), logits)


class PromptOnlyRepetitionPenalty:
    """transformers' repetition penalty (CTRL, set-based) over each row's real tokens, ignoring its left padding.

    Pad positions are replaced by the row's first real token when marking the ids seen: that token is penalised
    anyway, so the pads add nothing. The penalty itself is ``penalize``, as in continuous batching.
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
        return penalize(scores, seen, self.penalty)


def continuous(model, tokenizer, encoded, settings: GenerationSettings, stops: set[int], grammars=None):
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
            # (kv_cache.rows_editable), a sliding layer would hold exactly the same keys and values, and full layers can be
            # padded, joined and cut by row freely.
            one = kv_cache.new_cache()
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids),
                        position_ids=torch.arange(ids.shape[1], device=device)[None], past_key_values=one,
                        use_cache=True, logits_to_keep=1)
            logits = out.logits[:, -1, :].to(torch.float32)
            row_seen = torch.zeros(1, logits.shape[-1], dtype=torch.bool, device=device)
            row_seen[0, ids[0].clamp(max=logits.shape[-1] - 1)] = True
            logits = penalize(logits, row_seen, settings.repetition_penalty)
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
                    kv_cache.pad_left(cache, length - width)
                    mask = torch.nn.functional.pad(mask, (length - width, 0))
                elif length < width:  # the new row is padded on the left
                    kv_cache.pad_left(one, width - length)
                    row_mask = torch.nn.functional.pad(row_mask, (width - length, 0))
                kv_cache.join_rows(cache, one)
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
        logits = penalize(logits, seen, settings.repetition_penalty)
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
                kv_cache.select_rows(cache, index)
                mask, seen, last, pos = mask[index], seen[index], last[index], pos[index]
                # Columns that are padding in every remaining row are dropped.
                drop = int((mask.sum(0) == 0).long().cumprod(0).sum())
                if drop:
                    kv_cache.crop_left(cache, drop)
                    mask = mask[:, drop:]
            else:
                cache = mask = seen = last = pos = None
        if finished:
            log.debug("%d finished, %d active, %d waiting", len(finished), len(rows), len(queue))
            yield finished


def static_batches(model, tokenizer, encoded, settings: GenerationSettings, stops: set[int], grammars=None):
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
