"""The whole DAG on the smoke profile, in a scratch copy of the repository (Snakemake locks its working directory),
with the network blocked at the socket level in every process it starts (tests/offline_guard)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _offline import guarded_env, socket_events

from conftest import ROOT, SNAKEMAKE

# smoke_run: tests/conftest.py (one local run of the whole DAG, shared with tests/test_slurm.py)


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
    result = subprocess.run([SNAKEMAKE, "--lint", "--profile", "profiles/smoke"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and "Congratulations" in (result.stdout + result.stderr), result.stdout + result.stderr


@pytest.mark.workflow
def test_report_opens_with_the_result_computed_by_the_run(smoke_run):
    from html import unescape

    import pandas as pd

    from claimbench.evaluation.verdict import headline_display

    # as a reader sees it: entities decoded, pandoc's line wrapping inside table cells undone
    html = " ".join(unescape((smoke_run / "results/report/report.html").read_text()).split())
    evaluation = smoke_run / "results/evaluation"
    # the first section, before every other, is the result
    assert html.index("Result: does this run reproduce") < html.index("About this report") < html.index("Paper Table 2")
    headline = pd.read_csv(evaluation / "headline_f1.csv", keep_default_na=False, na_values=[""])
    metrics = pd.read_csv(evaluation / "metrics.csv")
    intervals = pd.read_csv(evaluation / "bootstrap_intervals.csv")
    ran = headline[headline.run.astype(bool)]
    assert set(ran.configuration) >= {"base", "rag", "knn", "ft-mini", "ft-medium"}
    # this run's F1 is metrics.csv's, its interval bootstrap_intervals.csv's, and the report shows both
    f1 = metrics[metrics.metric == "f1"].set_index(["configuration", "component"]).value
    bounds = intervals[intervals.metric == "f1"].set_index(["configuration", "component"])
    for row in ran.itertuples():
        assert row.f1 == pytest.approx(f1[(row.configuration, row.component)])
        assert (row.lower, row.upper) == pytest.approx(tuple(bounds.loc[(row.configuration, row.component),
                                                                          ["lower", "upper"]]))
    shown = headline_display(headline.fillna({"configuration": "", "paper_column": ""}))
    for row in shown[shown.Configuration.isin(ran.configuration)].to_dict("records"):
        for label in ("ICD-10-CM", "CPT", "Modifier"):
            assert row[f"{label} F1 [95% CI]"] in html  # e.g. knn's "0.32 [0.20, 0.45]"
    assert "beyond the paper" in html  # knn
    verdicts = pd.read_csv(evaluation / "ordering_verdict.csv", keep_default_na=False)
    assert list(verdicts.finding) == ["a", "a", "a", "b", "c"]
    assert set(verdicts.verdict) <= {"yes", "no", "not separable"}  # every paper row ran: all findings tested
    for row in verdicts.itertuples():
        assert row.evidence.split(";")[0] in html


@pytest.mark.workflow
def test_case_browser_shows_every_scored_case_marked_as_scored(smoke_run):
    import pandas as pd

    html = (smoke_run / "results/report/cases.html").read_text()
    assert "cases.html" in (smoke_run / "results/report/report.html").read_text()  # the report links to it
    assert "<script" not in html
    configurations = pd.read_csv(smoke_run / "results/evaluation/configurations.csv")
    matched = fabricated = 0
    for name in configurations.configuration[configurations.run]:
        cases = pd.read_parquet(smoke_run / f"results/evaluation/cases/{name}.parquet")
        for row in cases.itertuples():
            assert f">{row.encounter_id}<" in html
            matched += sum(len(set(getattr(row, f"pred_{c}")) & set(getattr(row, f"gold_{c}")))
                           for c in ("icd10", "cpt", "modifier"))
            fabricated += len(row.icd10_fabricated_codes) + len(row.cpt_fabricated_codes)
    # one chip per matched code; fabricated ICD-10-CM and CPT codes each get one chip (plus their modifier pairs)
    assert html.count('class="code matched"') == matched + 1  # + the legend's
    assert html.count('class="code fabricated"') >= fabricated + 1


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


@pytest.mark.workflow
def test_killed_report_render_is_not_taken_for_a_report(smoke_run):
    """SIGKILL the whole workflow (Snakemake, the render job, its kernel) while it renders the report again: no
    half-written report is left where the rule's outputs go, Snakemake plans the render again, and the rerun writes
    the report whole. Runs last: it renders the smoke run's report a second time."""
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    env = guarded_env(smoke_run.parent / "sockets.log")
    report = smoke_run / "results/report"
    manifest = report / "build/inputs.json"  # rewritten by the render job as it starts
    started = time.time()
    workflow = subprocess.Popen([snakemake, "--profile", "profiles/smoke", "--cores", "1", "--forcerun", "render_report"],
                                cwd=smoke_run, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    while workflow.poll() is None and not (manifest.exists() and manifest.stat().st_mtime > started):
        assert time.time() - started < 1200, "the render job did not start"
        time.sleep(0.2)
    time.sleep(2)  # into the render: its kernel runs the report's chunks
    assert workflow.poll() is None, "the render finished before it could be killed"
    os.killpg(workflow.pid, signal.SIGKILL)
    workflow.wait()
    assert not (report / "report.html").exists() and not (report / "report.pdf").exists()

    plan = subprocess.run([snakemake, "-n", "--profile", "profiles/smoke"], cwd=smoke_run, env=env,
                          capture_output=True, text=True, timeout=600)
    assert plan.returncode == 0 and "render_report" in plan.stdout + plan.stderr, plan.stdout[-3000:]
    # a hard kill leaves Snakemake's lock on the working directory; it says so, and --unlock lifts it
    unlock = subprocess.run([snakemake, "--unlock", "--profile", "profiles/smoke"], cwd=smoke_run, env=env,
                            capture_output=True, text=True, timeout=600)
    assert unlock.returncode == 0, unlock.stdout[-3000:] + unlock.stderr[-3000:]
    rerun = subprocess.run([snakemake, "--profile", "profiles/smoke", "--cores", "2"], cwd=smoke_run, env=env,
                           capture_output=True, text=True, timeout=1800)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "Total Encounters" in (report / "report.html").read_text()
    assert (report / "report.pdf").read_bytes()[:4] == b"%PDF" and not list(report.glob("*.partial"))
    assert [line for event, line in socket_events(smoke_run.parent / "sockets.log") if event == "blocked"] == []
