"""Scheduling, read from the workflow's own DAG: no job waits on a job of lower priority.

Snakemake starts the ready job of highest priority and does not pass a job's priority on to the jobs it waits on.
A minutes-long job whose 10-second prerequisite has priority 0 therefore waits until every other ready job has
started, and may end the run alone with the other core idle (measured in the default run at d0a03b4: the rag
predictions waited on their neighbours' job and ran last, docs/decisions.md). So each job's priority is at least
that of every job that reads its outputs.
"""

from __future__ import annotations

from _dag import dry_run_jobs, producers


def test_no_job_waits_on_a_job_of_lower_priority():
    jobs = dry_run_jobs("--cores", "1")
    before = producers(jobs)
    assert max(job["priority"] for job in jobs) > 0, "the parse found no priorities at all"
    late = sorted({f"{waited['rule']} ({waited['priority']}) before {job['rule']} ({job['priority']})"
                   for job in jobs for waited in before(job) if waited["priority"] < job["priority"]})
    assert not late, "jobs wait on jobs of lower priority: " + "; ".join(late)
