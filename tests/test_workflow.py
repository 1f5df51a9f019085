"""The whole DAG on the smoke profile, in a scratch copy of the repository (Snakemake locks its working directory)."""

import subprocess

import pytest

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
