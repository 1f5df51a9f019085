"""Paper 002's task as text a model reads and writes: the prompt of one chart, and (prompt, completion) training
pairs whose completion is the gold JSON claim. The texts come from ``claimbench.paper002.prompt`` and the schema from
``claimbench.paper002.schema``; this module only lays them out with the model's chat template, through the same
helpers paper 000's prompts use (``claimbench.prompts``).

Every prompt family is laid out with the tokenizer's chat template (Phi-3's tokenizer has one as well): paper 002
used the model's native chat format, and paper 000's special-token layout belongs to paper 000's prompts.
``JSON_TASK`` is this task as fine-tuning and generation take it (claimbench.task); paper 002's plan names it by its
import path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from claimbench.prompts import _chat, chat_pair

def build_prompt(op_note: str, tokenizer) -> str:
    """The prompt of one chart, with the generation prompt (what zero-shot and fine-tuned models are given)."""
    from claimbench.paper002.prompt import messages

    return _chat(tokenizer, messages(op_note), add_generation_prompt=True)


def training_pair(record: Mapping, op_note: str, tokenizer) -> tuple[str, str]:
    """(prompt, completion) of one training chart: ``op_note`` (the record's note, possibly cut to fit) in the prompt,
    the record's gold JSON claim as the completion."""
    from claimbench.paper002.prompt import messages
    from claimbench.paper002.schema import gold_claim, render

    # the gold claim from the whole record: a note cut to fit keeps its labels (counted as truncated)
    return chat_pair(tokenizer, messages(op_note), render(gold_claim(record)))


@dataclass(frozen=True)
class JsonClaimTask:
    """Paper 002's JSON claim task (claimbench.task.Task): no example claims, the chart's note only."""

    kind: str = "paper002"
    shows_examples: bool = False

    def prompt(self, op_note: str, examples, family: str, tokenizer) -> str:
        return build_prompt(op_note, tokenizer)

    def training_pair(self, record: Mapping, op_note: str, family: str, tokenizer, examples) -> tuple[str, str]:
        return training_pair(record, op_note, tokenizer)

    def parse(self, text: object):
        from claimbench.paper002.schema import parse

        return parse(text)


JSON_TASK = JsonClaimTask()
