"""The workflow on a real SLURM cluster: tools/slurm_local.sh stands up a single-node SLURM from Debian's packages (one
fake GPU) and a representative part of the smoke DAG runs through profiles/slurm (snakemake-executor-plugin-slurm:
every job an sbatch): data -> cohort -> retrieval -> predict (knn, and the untuned LLM on the GPU) -> evaluate -> the
report, with code querying beside it. Its outputs equal the local smoke run's (tests/conftest.py). A GPU rule asks
SLURM for the GPU and waits while another job holds it; a job asking for more GPUs than the cluster has is refused.

Skipped only where SLURM cannot be installed or started (no apt-get, not root, packages unavailable); the daemons the
test started are stopped at the end. Cost: ~5.3 min on a 2-core machine with other work beside it (the cluster ~1 s,
the DAG's 28 jobs 4.5 min, the GPU wait and the refusal 45 s); the local smoke run it compares with is shared with
tests/test_workflow.py."""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import datetime

import pandas as pd
import pytest
import yaml
from _offline import guarded_env, socket_events

from conftest import ROOT, SNAKEMAKE, copy_repo, run_failure

SCRIPT = str(ROOT / "tools" / "slurm_local.sh")
CANNOT_START = 3  # tools/slurm_local.sh's exit status when SLURM cannot be installed or started here
# The representative part: knn (retrieval) and base (an LLM, on the GPU) of the smoke profile's configurations; the
# fine-tuned and constrained ones add minutes of the same kind of job.
CONFIGURATIONS = ["base", "knn"]
TIMING = ("seconds", "batch_seconds", "batch_size")  # wall-clock facts of a run: the only fields that may differ
SLURM_RUN = ["--profile", "profiles/slurm", "--workflow-profile", "profiles/smoke",
             # the plugin's first status check 2 s after a submission or a finished job, not 40 (a test's jobs take
             # seconds; squeue is polled, and the cluster keeps finished jobs listed for MinJobAge = 3600 s)
             "--slurm-init-seconds-before-status-checks", "2"]
RUN_TIMEOUT = 1500  # seconds: a hung run fails the test well inside CI's 90 minutes

pytestmark = pytest.mark.workflow


def _slurm(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cluster():
    """The single-node cluster's GPU count; started unless it already runs, stopped afterwards only if started here."""
    was_running = _slurm(SCRIPT, "status").returncode == 0
    started = _slurm(SCRIPT, "start", timeout=900)
    if started.returncode == CANNOT_START:
        pytest.skip(started.stderr.strip())
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        gpus = _slurm("sinfo", "-h", "-o", "%G").stdout
        yield int(re.search(r"gpu:(\d+)", gpus).group(1))
    finally:
        if not was_running:
            stopped = _slurm(SCRIPT, "stop", timeout=120)
            assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def representative_part(workdir):
    """The checkout copied to ``workdir`` keeps only CONFIGURATIONS and leaves paper 002's stage out (config files
    merge, so the scratch copy's own files are cut down), and its LLM predictions ask for a GPU (predict.gpus: 1)."""
    for name in ("config.yaml", "profiles/smoke/overrides.yaml"):
        path = workdir / name
        config = yaml.safe_load(path.read_text())
        config["configurations"] = {k: v for k, v in config["configurations"].items() if k in CONFIGURATIONS}
        predict = config.get("predict") or {}
        for key in ("shifted_configurations", "whole_split_configurations"):  # they may name only configurations
            if predict.get(key):
                predict[key] = [k for k in predict[key] if k in CONFIGURATIONS]
        if "paper002" in config:  # paper 002's stage runs the same rule kinds (fine-tune, predict): not repeated here
            config["paper002"]["enabled"] = False
        if name.startswith("profiles"):
            config.setdefault("predict", {})["gpus"] = 1
        path.write_text(yaml.safe_dump(config, sort_keys=False))


def run_snakemake(workdir, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    """Snakemake through profiles/slurm in ``workdir``, every Python process of it (jobs included: sbatch passes the
    environment on) under the socket guard; (result, SLURM run id = the jobs' name)."""
    command = [SNAKEMAKE, *SLURM_RUN, *args]
    with subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=guarded_env(workdir.parent / "sockets.log")) as process:
        try:
            out, err = process.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.terminate()  # not a kill: Snakemake cancels its SLURM jobs (scancel) before it exits
            out, err = process.communicate(timeout=120)
            pytest.fail(f"Snakemake on SLURM ran past {RUN_TIMEOUT} s:\n{(out + err)[-5000:]}")
    result = subprocess.CompletedProcess(command, process.returncode, out, err)
    run_id = re.search(r"SLURM run ID: (\S+)", out + err)
    return result, run_id.group(1) if run_id else ""


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """(working directory, SLURM's record of each job: comment -> fields, the rules Snakemake ran) of the
    representative DAG run through SLURM."""
    workdir = copy_repo(tmp_path_factory.mktemp("slurm") / "repo")
    representative_part(workdir)
    result, run_id = run_snakemake(workdir)
    log = result.stdout + result.stderr
    assert result.returncode == 0, run_failure(workdir, log, tail=8000)
    return workdir, slurm_jobs(run_id), re.findall(r"Finished jobid: \d+ \(Rule: ([\w-]+)\)", log)


def slurm_jobs(name: str) -> dict[str, dict]:
    """SLURM's records of the jobs named ``name`` (the plugin names each job after its run and comments it with the
    rule and wildcards), by comment; finished jobs stay listed for MinJobAge (an hour on the local cluster)."""
    jobs = {}
    for line in _slurm("scontrol", "show", "job", "-o").stdout.splitlines():
        fields = dict(re.findall(r"(\w+(?:/\w+)?)=(\S*)", line))
        if fields.get("JobName") == name:
            jobs[fields["Comment"]] = fields
    return jobs


def when(job: dict, key: str) -> datetime:
    return datetime.fromisoformat(job[key])


def test_start_is_idempotent(cluster):
    before = _slurm(SCRIPT, "status").stdout
    again = _slurm(SCRIPT, "start", timeout=120)
    assert again.returncode == 0, again.stderr
    after = _slurm(SCRIPT, "status").stdout
    daemons = re.findall(r"(\w+): running \((\d+)\)", before)
    assert {name for name, _ in daemons} >= {"slurmctld", "slurmd"}
    assert re.findall(r"(\w+): running \((\d+)\)", after) == daemons  # the same daemons, not new ones


def test_every_job_ran_as_a_slurm_job(slurm_run):
    workdir, jobs, finished = slurm_run
    assert (workdir / "results/report/report.pdf").read_bytes()[:4] == b"%PDF"
    assert "Total Encounters" in (workdir / "results/report/report.html").read_text()
    # data -> cohort -> retrieval -> predict -> evaluate -> report, each through sbatch
    for comment in ["rule_generate_synthetic", "rule_split_encounters", "rule_cohort_table1", "rule_faiss_index",
                    "rule_retrieval_neighbours", "rule_predict_wildcards_knn", "rule_predict_wildcards_base",
                    "rule_evaluate_cases_wildcards_knn", "rule_evaluate_summary", "rule_querybench_tables",
                    "rule_render_report"]:
        assert jobs[comment]["JobState"] == "COMPLETED", jobs.get(comment)
    # every job but the target rule `all` (Snakemake runs that itself) was a SLURM job
    assert len(jobs) == len(finished) - 1 and "all" in finished, (sorted(jobs), finished)
    assert all(job["JobState"] == "COMPLETED" for job in jobs.values())
    # the LLM asked for the GPU (the plugin's --gpus=1); knn has no model and asked for none
    assert jobs["rule_predict_wildcards_base"]["TresPerJob"] == "gres:gpu:1"
    assert "TresPerJob" not in jobs["rule_predict_wildcards_knn"]


def test_jobs_ran_offline_in_the_submitting_environment(slurm_run):
    """The jobs' Python processes had the submitting shell's PYTHONPATH (the socket guard first), and none tried the
    network."""
    workdir, *_ = slurm_run
    events = socket_events(workdir.parent / "sockets.log")
    assert [line for event, line in events if event == "blocked"] == []
    loaded = " ".join(line for event, line in events if event == "loaded")
    assert "-m snakemake --snakefile" in loaded  # the Snakemake that runs each job inside its SLURM job
    for stage in ("ingest_extract.py", "retrieval_embed.py", "predict.py", "evaluate_cases.py", "render_report.py"):
        assert stage in loaded, f"the socket guard was not on in {stage}"


def _jsonl(path):
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING} for line in path.read_text().splitlines()]


def test_outputs_equal_the_local_run(slurm_run, smoke_run):
    workdir, *_ = slurm_run

    def both(name):
        return workdir / "results" / name, smoke_run / "results" / name

    for name in ["data/split/train.parquet", "data/split/test.parquet", "retrieval/neighbours.parquet",
                 *(f"evaluation/cases/{c}.parquet" for c in CONFIGURATIONS), "querybench/scored/tiny-llama.parquet"]:
        slurm, local = (pd.read_parquet(path).drop(columns=list(TIMING), errors="ignore") for path in both(name))
        pd.testing.assert_frame_equal(slurm, local, obj=name)
    for name in ["cohort/table1.csv", "cohort/code_counts.csv", "querybench/tables/exact_match.csv"]:
        slurm, local = both(name)
        assert slurm.read_text() == local.read_text(), name
    for configuration in CONFIGURATIONS:
        slurm, local = both(f"predictions/{configuration}.jsonl")
        assert _jsonl(slurm) == _jsonl(local), configuration
    # the local run scored more configurations: these two score the same there
    slurm, local = (pd.read_csv(path) for path in both("evaluation/metrics.csv"))
    local = local[local.configuration.isin(CONFIGURATIONS)].reset_index(drop=True)
    assert sorted(slurm.configuration.unique()) == sorted(CONFIGURATIONS)
    pd.testing.assert_frame_equal(slurm, local, obj="evaluation/metrics.csv")


def test_a_gpu_rule_waits_for_the_gpu(slurm_run, cluster):
    """Another job holds the one GPU until a GPU job is pending: the predict job, submitted meanwhile, starts only
    when the holder has ended."""
    workdir, *_ = slurm_run
    assert cluster == 1
    # the holder waits (up to 10 min: a loaded machine is slow to submit) for a pending job that asked for a GPU, then
    # ends 2 s later
    wait_for_gpu_job = ("for i in $(seq 1200); do scontrol show job -o | grep JobState=PENDING "
                        "| grep -q TresPerJob=gres:gpu && break; sleep 0.5; done; sleep 2")
    holder = _slurm("sbatch", "--parsable", "--gpus=1", "--job-name=claimbench-gpu-holder", "--output=/dev/null",
                    f"--chdir={workdir.parent}", f"--wrap={wait_for_gpu_job}")
    assert holder.returncode == 0, holder.stderr
    holder_id = holder.stdout.strip().split(";")[0]
    try:
        for _ in range(120):  # until SLURM has given it the GPU
            state = re.search(r"JobState=(\w+)", _slurm("scontrol", "show", "job", "-o", holder_id).stdout).group(1)
            if state != "PENDING":
                break
            time.sleep(0.5)
        assert state == "RUNNING", state
        result, run_id = run_snakemake(workdir, "results/predictions/base.jsonl", "--forcerun", "predict")
    finally:
        _slurm("scancel", holder_id)  # a no-op once it has ended; else it would hold the GPU for minutes
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    held = dict(re.findall(r"(\w+(?:/\w+)?)=(\S*)", _slurm("scontrol", "show", "job", "-o", holder_id).stdout))
    predict = slurm_jobs(run_id)["rule_predict_wildcards_base"]
    assert predict["TresPerJob"] == "gres:gpu:1"
    assert held["JobState"] == "COMPLETED"
    # submitted while the holder had the GPU, started when it gave it back (SLURM's times are whole seconds)
    assert when(held, "StartTime") <= when(predict, "SubmitTime") < when(held, "EndTime") <= when(predict, "StartTime")


def test_more_gpus_than_the_cluster_has_are_refused(slurm_run, cluster):
    workdir, *_ = slurm_run
    result, _ = run_snakemake(workdir, "results/predictions/base.jsonl", "--forcerun", "predict",
                              "--set-resources", f"predict:gpu={cluster + 1}")
    log = result.stdout + result.stderr
    assert result.returncode != 0 and "Requested node configuration is not available" in log, log[-5000:]
