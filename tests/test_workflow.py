"""The whole DAG on the smoke profile, in a scratch copy of the repository (Snakemake locks its working directory)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
                            capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return workdir


@pytest.mark.workflow
def test_report_files_exist_and_show_this_runs_table1(smoke_run):
    import pandas as pd

    html = (smoke_run / "results/report/report.html").read_text()
    assert (smoke_run / "results/report/report.pdf").read_bytes()[:4] == b"%PDF"
    table1 = pd.read_csv(smoke_run / "results/cohort/table1.csv", dtype=str, keep_default_na=False)
    for row in table1.itertuples():  # this run's values, not the paper's cited ones
        assert row.value in html, (row.characteristic, row.level, row.value)
    for number in (1, 2, 3):  # numbered in HTML as in the PDF, in the paper's order
        assert re.search(rf"<strong>Figure\s+{number}:</strong>\s+Paper\s+Figure\s+{number}\.", html), number
    assert "table2/&lt;configuration&gt;/&lt;component&gt;/&lt;metric&gt;" in html  # item ids and made-by lines
    assert "Appendix: audit trail" in html and re.search(r"rule\s+evaluate_summary\s+-&gt;", html)


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


# -- the run, not the paper: the audit trail and an independent recomputation -------------------------------------
RAW_EXTRACT = "results/data/raw/synthetic_extract.parquet"


def dry_run_jobs(workdir) -> dict[str, int]:
    """rule -> number of jobs ``snakemake -n`` plans (Snakemake's "Job stats" table); {} when nothing is to be done."""
    snakemake = Path(sys.executable).with_name("snakemake")
    result = subprocess.run([str(snakemake), "-n", "--profile", "profiles/smoke", "--cores", "2"], cwd=workdir,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    stats = text.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    rows = [line.split() for line in stats.splitlines()[3:]]  # after the header and its rule
    return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[0] != "total"}


@pytest.mark.workflow
def test_a_library_edit_reruns_exactly_what_it_affects(smoke_run):
    """Docstring and comment edits plan nothing; a code edit in claimbench.evaluation plans the evaluation rules and
    the report, and no data, fine-tuning or prediction rule (the params entry `code` of each rule)."""
    metrics = smoke_run / "src/claimbench/evaluation/metrics.py"
    original = metrics.read_text()
    try:
        assert dry_run_jobs(smoke_run) == {}
        metrics.write_text("# a comment\n" + original.replace('"""', '"""An edited docstring. ', 1))
        assert dry_run_jobs(smoke_run) == {}
        metrics.write_text(original + "\n\ndef _added_by_a_test():\n    return 1\n")
        planned = set(dry_run_jobs(smoke_run))
        assert {"evaluate_cases", "evaluate_summary", "evaluate_bootstrap", "render_report"} <= planned
        assert planned <= {"evaluate_cases", "evaluate_summary", "evaluate_bootstrap", "evaluate_figure3",
                           "evaluate_training", "render_report", "all"}, planned
    finally:
        metrics.write_text(original)
    assert dry_run_jobs(smoke_run) == {}


@pytest.mark.workflow
def test_trace_reaches_the_raw_extract_from_every_table_and_figure(smoke_run):
    from claimbench.audit.trace import Audit

    audit = Audit(smoke_run)
    families = {}
    for item in audit.items():
        families.setdefault(item.id.split("/", 1)[0], item)
    assert {"table1", "table2", "bootstrap", "training", "figure1", "figure2", "figure3",
            "querybench-exact_match", "querybench-sweep"} <= set(families)
    for family, item in families.items():
        _, nodes = audit.trace(item.id)
        for node in nodes:
            assert node.sha256, (item.id, node.path)  # every file on the way has a recorded hash
        leaves = [node for node in nodes if not node.repeated and not (node.record and node.record["inputs"])]
        if family.startswith("querybench"):  # paper 003 samples the code sets, not the extract
            assert any(node.record and node.record["rule"] == "querybench_sample" for node in leaves), item.id
        else:
            assert RAW_EXTRACT in [node.path for node in leaves], item.id
    _, nodes = audit.trace(families["table2"].id)
    rules = {node.record["rule"] for node in nodes if node.record}
    assert {"evaluate_summary", "evaluate_cases", "predict", "split_encounters", "ingest_extract",
            "generate_synthetic"} <= rules


@pytest.mark.workflow
def test_verify_passes_and_names_a_changed_byte_and_its_items(smoke_run):
    from claimbench.audit.trace import Audit

    assert Audit(smoke_run).verify() == []
    test_split = smoke_run / "results/data/split/test.parquet"
    original, stat = test_split.read_bytes(), test_split.stat()
    try:
        test_split.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        findings = Audit(smoke_run).verify()
        assert [(f.kind, f.path) for f in findings] == [("changed", "results/data/split/test.parquet")]
        items = set(findings[0].items)
        assert any(i.startswith("table2/") for i in items) and "figure3" in items
        assert not any(i.startswith("table1/") for i in items)  # Table 1 reads the whole cohort, not the split
    finally:
        test_split.write_bytes(original)
        os.utime(test_split, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # Snakemake's mtime trigger: as it was


@pytest.mark.workflow
def test_table2_equals_a_recomputation_from_the_prediction_files(smoke_run):
    """Per case: M = generated codes, P = billed codes; precision |M∩P|/|M|, recall |M∩P|/|P| (one empty: 0; both
    empty: 1 inside a parseable claim, else 0), averaged over the whole test split (a case without a prediction line
    answered nothing); F1 from the two means. Codes are read with the library's parser; the rest is recomputed here."""
    import json

    import pandas as pd

    from claimbench.evaluation.parse import parse_claim

    test = pd.read_parquet(smoke_run / "results/data/split/test.parquet")
    table2 = pd.read_csv(smoke_run / "results/evaluation/table2.csv", keep_default_na=False)
    ran = table2[(table2.configuration != "") & (table2.run.astype(str) == "True")]
    assert len(set(ran.configuration)) >= 3
    for name in sorted(set(ran.configuration)):
        lines = (smoke_run / f"results/predictions/{name}.jsonl").read_text().splitlines()
        generated = {}
        for line in filter(None, lines):
            record = json.loads(line)
            generated.setdefault(str(record["encounter_id"]), record.get("generated_text"))
        scores = {component: [] for component in ("icd10", "cpt", "modifier")}
        for case in test.to_dict("records"):
            parsed = parse_claim(generated.get(str(case["encounter_id"])))
            predicted = {
                "icd10": set(parsed.icd10),
                "cpt": {line.cpt for line in parsed.cpt_lines},
                "modifier": {(line.cpt, m) for line in parsed.cpt_lines for m in line.modifiers},
            }
            gold = {
                "icd10": set(case["icd10"]),
                "cpt": {line["cpt"] for line in case["cpt_lines"]},
                "modifier": {(line["cpt"], m) for line in case["cpt_lines"] for m in line["modifiers"]},
            }
            answered = bool(predicted["icd10"] or predicted["cpt"])  # a parseable claim
            for component, scored in scores.items():
                m, p = predicted[component], gold[component]
                if not m and not p:
                    scored.append((1.0, 1.0, True) if answered else (0.0, 0.0, False))
                elif not m or not p:
                    scored.append((0.0, 0.0, False))
                else:
                    scored.append((len(m & p) / len(m), len(m & p) / len(p), m == p))
        for component, scored in scores.items():
            precision = sum(s[0] for s in scored) / len(scored)
            recall = sum(s[1] for s in scored) / len(scored)
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            expected = {"precision": precision, "recall": recall, "f1": f1,
                        "full_match": 100 * sum(s[2] for s in scored) / len(scored)}
            got = ran[(ran.configuration == name) & (ran.component == component)].set_index("metric").value
            for metric, value in expected.items():
                assert float(got[metric]) == pytest.approx(value, abs=1e-9), (name, component, metric)


@pytest.mark.workflow
def test_snakemakes_own_report_lists_the_main_results(smoke_run, tmp_path):
    import zipfile

    snakemake = Path(sys.executable).with_name("snakemake")
    out = tmp_path / "report.zip"
    result = subprocess.run([str(snakemake), "--report", str(out), "--profile", "profiles/smoke"], cwd=smoke_run,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    names = zipfile.ZipFile(out).namelist()
    for path in ("results/cohort/table1.csv", "results/evaluation/table2.csv", "results/evaluation/figure3_bootstrap.png",
                 "results/querybench/tables/sweep.png", "results/report/report.html"):
        assert any(name.endswith(path) for name in names), path
