"""Snakemake priorities of the workflow's jobs, in one place (imported by the rules at parse time: no heavy imports).

Snakemake starts the ready job of highest priority; among equals it may start a 2-second job before a 2-minute one,
and a minutes-long job left to the end runs alone with the other core idle (measured 2026-12-02 on the default run
without these priorities: ft-mini+lexicon's predictions, ready at minute 22, started at minute 30). So the long jobs
go first, those that become ready late (after fine-tuning) before those ready early. Snakemake does not pass a
priority on to the jobs a job waits on, so each of those carries at least the priority of the jobs that read its
outputs: ``tests/test_scheduling.py`` checks that on the DAG (a rag prediction job that waits on a priority-0
retrieval job runs last). Jobs not named here are seconds long and keep Snakemake's 0. ``claimbench timeline``
shows how a run used its cores.
"""

from __future__ import annotations

from collections.abc import Mapping

from claimbench.plan.methods import FINETUNED_METHOD
from claimbench.plan.predict import is_llm

START = 20  # the data jobs, model conversion and the retrieval jobs in front of fine-tuning: every chain starts here
FINETUNE_LOWEST, FINETUNE_HIGHEST = 10, 19  # fine-tuning, the larger token budget first (finetune_priority)
MERGE = 10  # merging an adapter: its configuration's decoding choice and predictions wait on it
TUNING = 9  # the decoding choice, and the retrieval jobs the predictions read
FINETUNED_PREDICT = 8  # ready only when fine-tuning ends: the run's tail
LLM_PREDICT = 5  # base and rag: minutes each, ready early
OTHER_GENERATION = 4  # the query benchmark's and paper 002's generation (and the jobs they wait on)


def finetune_priority(settings: Mapping) -> int:
    """A fine-tuning job's priority, FINETUNE_LOWEST-FINETUNE_HIGHEST: the larger its token budget (examples x
    sequence length; the whole split counts as large), the earlier it starts. Longest jobs first leaves the short
    ones to fill both cores at the end of a run (with every fine-tuning job at one priority, paper 002's started last
    and ran alone)."""
    data = settings.get("data") or {}
    examples = data.get("max_examples") or 100_000
    budget = int(examples) * int(data.get("max_seq_length") or 1024) // 10_000
    return FINETUNE_LOWEST + min(budget, FINETUNE_HIGHEST - FINETUNE_LOWEST)


def predict_priority(config: Mapping, name: str) -> int:
    """A configuration's prediction job: fine-tuned models' first, other language models' next, knn's and api's
    (seconds: no local model) last."""
    if config["configurations"][name]["method"] == FINETUNED_METHOD:
        return FINETUNED_PREDICT
    return LLM_PREDICT if is_llm(config, name) else 0
