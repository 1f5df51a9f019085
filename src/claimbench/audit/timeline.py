"""When each job of a finished run started and ended, read from Snakemake's log, and how busy the cores were.

Snakemake writes every job's start (a timestamp, then ``rule <name>:`` with its ``jobid``, ``threads`` when above 1
and ``wildcards``) and its end (a timestamp, then ``Finished jobid: N``) to ``.snakemake/log/<date>.snakemake.log``.
From those, ``claimbench timeline`` (``format_timeline``) prints the wall time, the job time, the share of the cores
the jobs kept busy and when the long jobs ran: whether a run is limited by its work or by its scheduling. Timestamps
have one-second resolution.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
RULE = re.compile(r"^(?:local)?rule (\S+):$")
FIELD = re.compile(r"^\s+(jobid|threads|wildcards): (.*)$")
FINISHED = re.compile(r"^Finished jobid: (\d+)")
CORES = re.compile(r"^Provided cores: (\d+)")


@dataclass(frozen=True)
class Timeline:
    jobs: pd.DataFrame  # one row per finished job: jobid, rule, wildcards, threads, start, end, seconds
    cores: int | None  # Snakemake's "Provided cores"

    @property
    def wall_seconds(self) -> float:
        return (self.jobs["end"].max() - self.jobs["start"].min()).total_seconds() if len(self.jobs) else 0.0

    @property
    def core_seconds(self) -> float:
        """Seconds of the jobs, each counted once per thread it reserved."""
        return float((self.jobs["seconds"] * self.jobs["threads"]).sum())

    @property
    def busy_share(self) -> float | None:
        """The share of ``cores`` x wall time the jobs held (None without a core count or a duration)."""
        capacity = (self.cores or 0) * self.wall_seconds
        return self.core_seconds / capacity if capacity else None


def read_timeline(lines: Iterable[str]) -> Timeline:
    """Parse a Snakemake log; jobs that never finished (a failed or killed run) are left out."""
    stamp, current, cores = None, None, None
    started: dict[int, dict] = {}
    ended: dict[int, datetime] = {}
    for line in lines:
        line = line.rstrip("\n")
        if m := STAMP.match(line):
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif m := CORES.match(line):
            cores = int(m.group(1))
        elif m := RULE.match(line):
            current = {"rule": m.group(1), "wildcards": "", "threads": 1, "start": stamp}
        elif current is not None and (m := FIELD.match(line)):
            key, value = m.groups()
            if key == "jobid":
                started[int(value)] = current
            else:
                current[key] = int(value) if key == "threads" else value.strip()
        elif m := FINISHED.match(line):
            ended[int(m.group(1))] = stamp
            current = None
    rows = [{"jobid": jobid, **job, "end": ended[jobid]} for jobid, job in started.items() if jobid in ended]
    jobs = pd.DataFrame(rows, columns=["jobid", "rule", "wildcards", "threads", "start", "end"])
    jobs["seconds"] = (jobs["end"] - jobs["start"]).dt.total_seconds() if len(jobs) else []
    jobs = jobs.sort_values(["start", "jobid"]).reset_index(drop=True)
    return Timeline(jobs, cores)


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(round(seconds % 60))} s"


def format_timeline(timeline: Timeline, source: str | Path, min_seconds: float = 60.0) -> str:
    """The run's wall time, job time and busy share, then every job of ``min_seconds`` or more with its start and
    end in minutes from the run's start."""
    jobs = timeline.jobs
    if jobs.empty:
        raise ValueError(f"{source}: no finished job in this log")
    wall, busy = timeline.wall_seconds, timeline.busy_share
    lines = [f"{source}", f"{len(jobs)} jobs on {timeline.cores} cores: wall {minutes(wall)}, job time "
                          f"{timeline.core_seconds / 60:.1f} min (core-minutes)"]
    if busy is not None:
        idle = timeline.cores * wall - timeline.core_seconds
        lines.append(f"cores busy {100 * busy:.1f}% of the run; idle {idle:.0f} core-seconds "
                     f"(a perfect packing would save {idle / timeline.cores:.0f} s of wall time)")
    origin = jobs["start"].min()
    lines += ["", f"jobs of {min_seconds:g} s or more (minutes from the run's start):",
              f"{'start':>6} {'end':>6} {'seconds':>8}  job"]
    for job in jobs[jobs["seconds"] >= min_seconds].itertuples():
        start = (job.start - origin).total_seconds() / 60
        end = (job.end - origin).total_seconds() / 60
        label = f"{job.rule} ({job.wildcards})" if job.wildcards else job.rule
        lines.append(f"{start:6.1f} {end:6.1f} {job.seconds:8.0f}  {label}")
    return "\n".join(lines)


def newest_log(workdir: str | Path = ".") -> Path:
    logs = sorted((Path(workdir) / ".snakemake" / "log").glob("*.snakemake.log"))
    if not logs:
        raise FileNotFoundError(f"no Snakemake log under {Path(workdir) / '.snakemake' / 'log'}")
    return logs[-1]
