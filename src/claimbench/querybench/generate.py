"""Put the paper's query to a local causal LM: seeded temperature sampling, free or trie-constrained, batched."""

from __future__ import annotations

import hashlib
import logging
import time
import zlib

import pandas as pd
import torch
from transformers import LogitsProcessorList

from claimbench.models.generation import stop_token_ids
from claimbench.querybench.prompt import answer_prefix, model_input, query_prompt
from claimbench.querybench.systems import SYSTEMS, CodeSystem
from claimbench.querybench.trie import CodeTrie, TrieLogitsProcessor, token_texts

log = logging.getLogger(__name__)

MODES = ("free", "trie")


def batch_seed(seed: int, *parts) -> int:
    """A seed per batch, from the run seed and the batch's identity, so any one run reproduces on its own."""
    return zlib.crc32(repr((seed, *parts)).encode()) & 0x7FFFFFFF


def row_systems(sample: pd.DataFrame, system: CodeSystem | None) -> list[CodeSystem]:
    """Each row's code system: ``system`` for all, or (None) the system its ``system`` column names."""
    if system is not None:
        return [system] * len(sample)
    unknown = sorted(set(sample["system"]) - set(SYSTEMS))
    if unknown:
        raise ValueError(f"unknown code systems in the sample: {unknown}")
    return [SYSTEMS[key] for key in sample["system"]]


def query_codes(
    model,
    tokenizer,
    sample: pd.DataFrame,
    system: CodeSystem | None,
    *,
    mode: str = "free",
    temperature: float = 0.2,
    seed: int = 0,
    max_new_tokens: int = 50,
    batch_size: int = 8,
    trie: CodeTrie | None = None,
    tag: str = "",
) -> pd.DataFrame:
    """One response per sample row (columns system, item, code, description kept) with the prompt's sha256,
    token counts and seconds. ``system=None`` asks each row in the system its ``system`` column names, so free
    queries of several systems share batches (on a CPU a batch of 12 rows costs little more than one of 4).
    ``mode="trie"`` pre-fills "Code: <code system>:" and restricts the rest to ``trie`` (one system).
    Temperature 0 means greedy. ``tag`` (e.g. the model name) enters the batch seeds."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    systems = row_systems(sample, system)
    keys = sorted({s.key for s in systems})
    if mode == "trie" and (trie is None or len(keys) > 1):
        raise ValueError("mode 'trie' needs the code trie of the sample's one code system")
    prefill = answer_prefix(systems[0]) if mode == "trie" and systems else ""
    prompts = [query_prompt(s, d) for s, d in zip(systems, sample["description"])]
    texts = [model_input(tokenizer, p, prefill) for p in prompts]
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    stops = sorted(stop_token_ids(model, tokenizer))
    tokens = token_texts(tokenizer) if mode == "trie" else None
    lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: (lengths[i], i))  # similar lengths together: less padding
    sampling = (
        dict(do_sample=True, temperature=float(temperature), top_k=0, top_p=1.0)
        if temperature > 0
        else dict(do_sample=False)
    )
    results: dict[int, dict] = {}
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
        width = batch["input_ids"].shape[1]
        processors = LogitsProcessorList(
            [TrieLogitsProcessor(trie, tokens, width, stops)] if mode == "trie" else []
        )
        torch.manual_seed(batch_seed(seed, tag, "+".join(keys), mode, float(temperature), start))
        began = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(
                **batch,
                logits_processor=processors,
                max_new_tokens=max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=stops,
                **sampling,
            )
        seconds = time.perf_counter() - began
        for row, i in enumerate(idx):
            generated = out[row, width:].tolist()
            n_new = next((k + 1 for k, t in enumerate(generated) if t in stops), len(generated))
            results[i] = {
                "response": prefill + tokenizer.decode(generated[:n_new], skip_special_tokens=True),
                "prompt_sha256": hashlib.sha256(texts[i].encode()).hexdigest(),
                "n_prompt_tokens": lengths[i],
                "n_new_tokens": n_new,
                "seconds": seconds / len(idx),
            }
    frame = sample.reset_index(drop=True).copy()
    extra = pd.DataFrame([results[i] for i in range(len(frame))])
    frame = pd.concat([frame, extra], axis=1)
    frame["mode"] = mode
    frame["temperature"] = float(temperature)
    return frame
