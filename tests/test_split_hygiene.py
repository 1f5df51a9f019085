"""Scientific hygiene, read from the workflow's own DAG: the test split feeds no training or tuning job.

Every hyperparameter is chosen on the training/validation splits (claimbench.models.selection); the test split is
read only by prediction and evaluation. A dry run of the whole DAG (``-n --forceall``) lists each job's inputs and
outputs; this test walks the DAG upwards from every fine-tuned model and checks that no job on the way reads the
test split. Both the default configuration and the smoke profile are checked, since their configurations differ.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_SPLIT = "results/data/split/test.parquet"
# Rules that make or tune a model: their outputs, and everything that feeds them, must be blind to the test split.
TRAINING_RULES = {"finetune", "merge_adapter", "finetune_neighbours", "select_decoding"}


def dry_run_jobs(*args: str) -> list[dict]:
    """(rule, inputs, outputs) of every job of a forced dry run, parsed from Snakemake's job listing."""
    snakemake = Path(sys.executable).with_name("snakemake")
    result = subprocess.run([str(snakemake), "-n", "--forceall", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs, current = [], None
    for line in result.stdout.splitlines():
        if m := re.match(r"^(?:local)?rule (\S+):$", line):
            current = {"rule": m.group(1), "input": [], "output": []}
            jobs.append(current)
        elif current and (m := re.match(r"^\s+(input|output): (.*)$", line)):
            current[m.group(1)] = [p.strip() for p in m.group(2).split(",") if p.strip()]
    return jobs


def upstream(jobs: list[dict], targets: list[dict]) -> list[dict]:
    """``targets`` and every job whose outputs they need, transitively."""
    producer = {path: job for job in jobs for path in job["output"]}
    seen, todo = [], list(targets)
    while todo:
        job = todo.pop()
        if any(job is s for s in seen):
            continue
        seen.append(job)
        for path in job["input"]:
            # a directory output is named by its folder; an input inside it names a file below
            parents = [path, *(str(p) for p in Path(path).parents)]
            todo.extend(producer[p] for p in parents if p in producer)
    return seen


@pytest.mark.parametrize("profile", [None, "profiles/smoke"])
def test_no_training_or_tuning_job_reads_the_test_split(profile):
    jobs = dry_run_jobs(*(["--profile", profile] if profile else ["--cores", "1"]))
    training = [job for job in jobs if job["rule"] in TRAINING_RULES]
    assert {job["rule"] for job in training} >= TRAINING_RULES, "a training or tuning rule is missing from the DAG"
    for job in upstream(jobs, training):
        if job["rule"] == "split_encounters":
            continue  # it writes the test split (with the others); reading its train/validation outputs is fine
        assert TEST_SPLIT not in job["input"], f"rule {job['rule']} feeds fine-tuning and reads the test split"
    # and the test split really is read downstream (the parse found the inputs at all)
    assert any(TEST_SPLIT in job["input"] for job in jobs if job["rule"] == "predict")
