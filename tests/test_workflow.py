"""The whole DAG on the smoke profile, in a scratch copy of the repository (Snakemake locks its working directory),
with the network blocked at the socket level in every process it starts (tests/offline_guard)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _offline import guarded_env, socket_events

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".venv", "results", ".snakemake", ".git", "__pycache__", ".pytest_cache", ".hypothesis")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smoke") / "repo"
    shutil.copytree(ROOT, workdir, ignore=IGNORE)
    if (ROOT / "resources").exists():  # e.g. the local WordNet made by setup.sh
        shutil.rmtree(workdir / "resources", ignore_errors=True)
        os.symlink(ROOT / "resources", workdir / "resources")
    snakemake = Path(sys.executable).with_name("snakemake")
    result = subprocess.run([str(snakemake), "--profile", "profiles/smoke", "--cores", "2"], cwd=workdir,
                            env=guarded_env(workdir.parent / "sockets.log"), capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return workdir


@pytest.mark.workflow
def test_report_files_exist_and_show_table1(smoke_run):
    html = (smoke_run / "results/report/report.html").read_text()
    assert (smoke_run / "results/report/report.pdf").read_bytes()[:4] == b"%PDF"
    assert "Total Encounters" in html and "192585" in html  # Table 1: this run beside the paper's cited values
    assert "Figure 1" in html or "token lengths" in html.lower()


@pytest.mark.workflow
def test_report_shows_table2_and_figure3(smoke_run):
    html = (smoke_run / "results/report/report.html").read_text()
    assert "Paper Table 2" in html and "Paper Figure 3" in html and "Fine-tuned Phi-3-medium" in html
    assert (smoke_run / "results/evaluation/figure3_bootstrap.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.workflow
def test_report_has_query_benchmark(smoke_run):
    html = (smoke_run / "results/report/report.html").read_text()
    assert "Code querying (paper 003" in html and "GPT-4 (Nov)" in html and "tiny-llama + trie" in html


@pytest.mark.workflow
def test_lint_is_clean():
    snakemake = Path(sys.executable).with_name("snakemake")
    result = subprocess.run([str(snakemake), "--lint", "--profile", "profiles/smoke"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and "Congratulations" in (result.stdout + result.stderr), result.stdout + result.stderr


@pytest.mark.workflow
def test_smoke_run_opened_no_connection(smoke_run):
    """Every stage ran with the network blocked and none tried to reach it (an attempt a library swallowed would be in
    the guard's log too); the api configuration refused, as configured, without trying."""
    events = socket_events(smoke_run.parent / "sockets.log")
    assert [line for event, line in events if event == "blocked"] == []
    loaded = " ".join(line for event, line in events if event == "loaded")
    for stage in ("ingest_extract.py", "tiny_model.py", "finetune.py", "merge_adapter.py", "retrieval_embed.py",
                  "predict.py", "evaluate_cases.py", "querybench_query.py", "render_report.py", "ipykernel_launcher"):
        assert stage in loaded, f"the socket guard was not on in {stage}"
    meta = json.loads((smoke_run / "results/predictions/api.meta.json").read_text())
    assert meta["run"] is False and "disabled in config" in meta["reason"]
