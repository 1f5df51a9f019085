"""The workflow's DAG as a forced dry run lists it: each job's rule, inputs, outputs and priority (shared by the tests
that check properties of the whole DAG)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dry_run_jobs(*args: str) -> list[dict]:
    """(rule, inputs, outputs, priority) of every job of a forced dry run, parsed from Snakemake's job listing
    (which prints a job's priority only when it is not 0)."""
    snakemake = Path(sys.executable).with_name("snakemake")
    result = subprocess.run([str(snakemake), "-n", "--forceall", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs, current = [], None
    for line in result.stdout.splitlines():
        if m := re.match(r"^(?:local)?rule (\S+):$", line):
            current = {"rule": m.group(1), "input": [], "output": [], "priority": 0}
            jobs.append(current)
        elif current and (m := re.match(r"^\s+(input|output): (.*)$", line)):
            current[m.group(1)] = [p.strip() for p in m.group(2).split(",") if p.strip()]
        elif current and (m := re.match(r"^\s+priority: (-?\d+)$", line)):
            current["priority"] = int(m.group(1))
    return jobs


def producers(jobs: list[dict]):
    """A function: job -> the jobs whose outputs it reads (a directory output is named by its folder; an input inside
    it names a file below). The output index is built once for the DAG."""
    producer = {path: other for other in jobs for path in other["output"]}

    def of(job: dict) -> list[dict]:
        return [producer[p] for path in job["input"] for p in [path, *(str(q) for q in Path(path).parents)]
                if p in producer]

    return of


def upstream(jobs: list[dict], targets: list[dict]) -> list[dict]:
    """``targets`` and every job whose outputs they need, transitively."""
    before = producers(jobs)
    seen, todo = [], list(targets)
    while todo:
        job = todo.pop()
        if any(job is s for s in seen):
            continue
        seen.append(job)
        todo.extend(before(job))
    return seen
