"""A task: what a model is asked about one note and what it answers, as one object that fine-tuning and generation
take instead of branching on a prompt kind.

A task builds the prompt of one note, the (prompt, completion) training pair of one record, and parses an answer.
``ClaimTask`` is paper 000's claim task in each prompt kind (claimbench.prompts); other tasks live with their paper
(``claimbench.paper002.task.JSON_TASK``) and are named in a job or configuration by their import path
(``"module:attribute"``, config key ``task``; the attribute is a task, or a function of the settings that builds one,
as ``claimbench.grounding.describe.describe_task``), so that the generic code below them imports none of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from claimbench.claim import Claim
from claimbench.evaluation.parse import ParsedClaim, parse_claim
from claimbench.prompts import EXAMPLE_KINDS, build_prompt, training_pair


class Task(Protocol):
    kind: str  # the prompt kind recorded in run keys, statistics and meta files

    @property
    def shows_examples(self) -> bool:
        """Whether the prompt shows example claims (a query's neighbours' claims)."""

    def prompt(self, op_note: str, examples: list[str] | None, family: str, tokenizer) -> str:
        """The prompt of one note, with the generation prompt."""

    def training_pair(self, record: Mapping, op_note: str, family: str, tokenizer,
                      examples: list[str] | None) -> tuple[str, str]:
        """(prompt, completion) of one training record; ``op_note`` is its note, possibly cut to fit."""

    def parse(self, text: object) -> ParsedClaim:
        """The claim an answer states (malformed answers parse to an empty claim, never an error)."""


@dataclass(frozen=True)
class ClaimTask:
    """Paper 000's task: a claim in the paper's line layout, in one prompt kind (claimbench.prompts.KINDS)."""

    kind: str = "finetuned"

    @property
    def shows_examples(self) -> bool:
        return self.kind in EXAMPLE_KINDS

    def prompt(self, op_note: str, examples: list[str] | None, family: str, tokenizer) -> str:
        return build_prompt(self.kind, op_note, examples=examples if self.shows_examples else None, family=family,
                            tokenizer=tokenizer)

    def training_pair(self, record: Mapping, op_note: str, family: str, tokenizer,
                      examples: list[str] | None) -> tuple[str, str]:
        return training_pair(op_note, Claim.from_record(record), family, tokenizer, self.kind, examples)

    def parse(self, text: object) -> ParsedClaim:
        return parse_claim(text)


def task_of(settings: Mapping, default_kind: str = "finetuned") -> Task:
    """The task a job or configuration names: ``task`` (an import path ``"module:attribute"`` of a task or of a
    function of ``settings`` that builds one), else paper 000's claim task in its ``prompt`` kind (``default_kind``
    when unset)."""
    spec = settings.get("task")
    if not spec:
        return ClaimTask(settings.get("prompt") or default_kind)
    module, _, attribute = str(spec).partition(":")
    if not attribute:
        raise ValueError(f"task {spec!r}: expected an import path 'module:attribute'")
    found = getattr(importlib.import_module(module), attribute)
    return found if hasattr(found, "training_pair") else found(settings)
