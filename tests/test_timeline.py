"""claimbench.audit.timeline: job starts and ends from a Snakemake log, and the share of the cores kept busy."""

from claimbench.audit.timeline import read_timeline

LOG = """\
Provided cores: 2
Rules claiming more threads will be scaled down.

[Wed Dec  2 13:35:01 2026]
localrule convert_model:
    output: results/models/smollm2/config.json
    jobid: 10
    wildcards: model=smollm2
    resources: tmpdir=/tmp
[Wed Dec  2 13:35:01 2026]
rule generate_synthetic:
    output: results/data/raw.jsonl
    jobid: 3
    priority: 20
[Wed Dec  2 13:35:31 2026]
Finished jobid: 3 (Rule: generate_synthetic)
1 of 4 steps (25%) done
[Wed Dec  2 13:35:41 2026]
Finished jobid: 10 (Rule: convert_model)
[Wed Dec  2 13:35:41 2026]
localrule cohort_figures:
    jobid: 31
    threads: 2
[Wed Dec  2 13:36:01 2026]
Finished jobid: 31 (Rule: cohort_figures)
[Wed Dec  2 13:36:01 2026]
localrule report:
    jobid: 1
"""


def test_jobs_and_the_busy_share_come_from_the_log():
    timeline = read_timeline(LOG.splitlines())
    jobs = timeline.jobs.set_index("jobid")
    assert list(timeline.jobs["rule"]) == ["generate_synthetic", "convert_model", "cohort_figures"]  # by start
    assert 1 not in jobs.index  # started, never finished (a killed run): left out
    assert jobs.loc[10, "wildcards"] == "model=smollm2" and jobs.loc[10, "seconds"] == 40
    assert jobs.loc[31, "threads"] == 2 and jobs.loc[3, "threads"] == 1
    assert timeline.cores == 2 and timeline.wall_seconds == 60
    # 30 + 40 one-thread seconds and 20 two-thread seconds, over 2 cores x 60 s
    assert timeline.core_seconds == 110 and timeline.busy_share == 110 / 120


def test_an_empty_log_has_no_jobs_and_no_busy_share():
    timeline = read_timeline([])
    assert timeline.jobs.empty and timeline.wall_seconds == 0 and timeline.busy_share is None


def test_the_timeline_command_prints_the_long_jobs(tmp_path, capsys):
    from claimbench.cli import main

    log = tmp_path / "run.snakemake.log"
    log.write_text(LOG, encoding="utf-8")
    assert main(["timeline", str(log), "--min-seconds", "35"]) == 0
    out = capsys.readouterr().out
    assert "3 jobs on 2 cores: wall 1 min 0 s" in out and "cores busy 91.7% of the run" in out
    assert "convert_model (model=smollm2)" in out and "generate_synthetic" not in out  # 30 s: under 35
    assert main(["--root", str(tmp_path), "timeline"]) == 2  # no .snakemake/log there: one line, exit 2
