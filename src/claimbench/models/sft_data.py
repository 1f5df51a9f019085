"""Supervised fine-tuning examples: each training record's (prompt, completion) pair from its task
(claimbench.task), tokenized, with the loss on the completion only and the note cut (never the completion) to fit."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial

from claimbench.task import ClaimTask, Task

log = logging.getLogger(__name__)

IGNORE_INDEX = -100  # label value that PyTorch's cross-entropy (and transformers' loss) skips


def tokenize_pair(tokenizer, prompt: str, completion: str) -> dict:
    """Token ids of prompt + completion, with labels masked (-100) on every prompt token.

    Prompt and completion are tokenized separately, so the prompt ids are exactly what the model is given at
    inference. Both strings carry their own special tokens (templates render BOS / turn markers themselves), so the
    tokenizer adds none.
    """
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return {
        "input_ids": prompt_ids + completion_ids,
        "labels": [IGNORE_INDEX] * len(prompt_ids) + completion_ids,
        "n_prompt": len(prompt_ids),
        "n_completion": len(completion_ids),
    }


def fit_pair(tokenizer, op_note: str, make_pair, max_seq_length: int) -> tuple[dict, bool]:
    """The tokenized pair ``make_pair(note)`` (-> (prompt, completion)), the note shortened from the end until it fits.

    Only the note is cut, never the completion (nor the example claims of a ``rag`` prompt): a truncated target
    would teach the model to stop mid-answer. Returns the example and whether the note was cut. Raises ValueError
    when even an empty note does not fit.
    """
    example = tokenize_pair(tokenizer, *make_pair(op_note))
    if len(example["input_ids"]) <= max_seq_length:
        return example, False
    note_ids = tokenizer(op_note, add_special_tokens=False)["input_ids"]
    keep = len(note_ids)
    # Token counts of a note and of its decoded prefix differ by a few tokens at the cut; converge in a few rounds.
    for _ in range(8):
        keep = max(0, keep - (len(example["input_ids"]) - max_seq_length) - 2)
        note = tokenizer.decode(note_ids[:keep], skip_special_tokens=True)
        example = tokenize_pair(tokenizer, *make_pair(note))
        if len(example["input_ids"]) <= max_seq_length:
            return example, True
        if keep == 0:
            break
    raise ValueError(
        f"the training prompt and completion need {len(example['input_ids'])} tokens even without the note; "
        f"raise finetune.data.max_seq_length ({max_seq_length})"
    )


def build_examples(records, tokenizer, family: str, max_examples: int | None, max_seq_length: int,
                   seed: int, task: Task = ClaimTask(),
                   example_claims: Mapping[str, list[str]] | None = None) -> tuple[list[dict], dict]:
    """Training examples from the training split: a seeded subset of ``max_examples`` (all when null), tokenized,
    each the ``task``'s training pair (claimbench.task).

    A task that shows examples (``rag``: retrieval-augmented fine-tuning) puts ``example_claims[encounter_id]`` (the
    rendered claims of the note's nearest other training notes) into each prompt. Returns the examples and a summary
    (counts of used / truncated / skipped encounters and tokens).
    """
    frame = records.sample(frac=1.0, random_state=seed) if max_examples else records
    if max_examples:
        frame = frame.head(int(max_examples))
    examples, truncated, skipped = [], 0, 0
    for row in frame.to_dict("records"):
        shown = (example_claims or {}).get(str(row.get("encounter_id"))) if task.shows_examples else None
        try:
            example, cut = fit_pair(tokenizer, row["op_note"],
                                    partial(task.training_pair, row, family=family, tokenizer=tokenizer,
                                            examples=shown), max_seq_length)
        except ValueError as err:
            log.warning("skipping %s: %s", row.get("encounter_id"), err)
            skipped += 1
            continue
        truncated += cut
        example["encounter_id"] = str(row.get("encounter_id", ""))
        examples.append(example)
    if not examples:
        raise ValueError("no training example fits finetune.data.max_seq_length; raise it")
    summary = {
        "n_train_records": int(len(records)),
        "n_examples": len(examples),
        "n_truncated_notes": int(truncated),
        "n_skipped": int(skipped),
        "prompt_tokens": int(sum(e["n_prompt"] for e in examples)),
        "completion_tokens": int(sum(e["n_completion"] for e in examples)),
        "max_example_tokens": int(max(len(e["input_ids"]) for e in examples)),
    }
    return examples, summary
