"""How a finished run used its cores: wall time, job time, the share of the cores kept busy, and when each long job
ran (minutes from the run's start). Reads Snakemake's log (claimbench.audit.timeline).

    .venv/bin/python benchmarks/run_timeline.py                 # the newest run of this checkout
    .venv/bin/python benchmarks/run_timeline.py path/to/x.snakemake.log --min-seconds 30
"""

from __future__ import annotations

import argparse
from pathlib import Path

from claimbench.audit.timeline import newest_log, read_timeline


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(round(seconds % 60))} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", nargs="?", type=Path, help="a Snakemake log (default: the newest of this checkout)")
    parser.add_argument("--min-seconds", type=float, default=60.0, help="list the jobs at least this long")
    args = parser.parse_args()
    path = args.log or newest_log()
    timeline = read_timeline(path.read_text(encoding="utf-8").splitlines())
    jobs = timeline.jobs
    if jobs.empty:
        raise SystemExit(f"{path}: no finished job in this log")
    wall, busy = timeline.wall_seconds, timeline.busy_share
    print(f"{path}")
    print(f"{len(jobs)} jobs on {timeline.cores} cores: wall {minutes(wall)}, job time "
          f"{timeline.core_seconds / 60:.1f} min (core-minutes)")
    if busy is not None:
        idle = timeline.cores * wall - timeline.core_seconds
        print(f"cores busy {100 * busy:.1f}% of the run; idle {idle:.0f} core-seconds "
              f"(a perfect packing would save {idle / timeline.cores:.0f} s of wall time)")
    origin = jobs["start"].min()
    print(f"\njobs of {args.min_seconds:g} s or more (minutes from the run's start):")
    print(f"{'start':>6} {'end':>6} {'seconds':>8}  job")
    for job in jobs[jobs["seconds"] >= args.min_seconds].itertuples():
        start = (job.start - origin).total_seconds() / 60
        end = (job.end - origin).total_seconds() / 60
        label = f"{job.rule} ({job.wildcards})" if job.wildcards else job.rule
        print(f"{start:6.1f} {end:6.1f} {job.seconds:8.0f}  {label}")


if __name__ == "__main__":
    main()
