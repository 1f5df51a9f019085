"""The whole DAG on the smoke profile, in a scratch copy of the repository (Snakemake locks its working directory),
with the network blocked at the socket level in every process it starts (tests/offline_guard)."""

import json
import os
import re
import shutil
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
def test_report_files_exist_and_show_this_runs_table1(smoke_run):
    import pandas as pd

    html = (smoke_run / "results/report/report.html").read_text()
    assert (smoke_run / "results/report/report.pdf").read_bytes()[:4] == b"%PDF"
    table1 = pd.read_csv(smoke_run / "results/cohort/table1.csv", dtype=str, keep_default_na=False)
    for row in table1.itertuples():  # this run's values, not the paper's cited ones
        assert row.value in html, (row.characteristic, row.level, row.value)
    for number in (1, 2, 3):  # the paper's numbers, labelled as the paper's (labels.lua)
        assert re.search(rf"<strong>Figure\s+{number}\s+\(paper\s+000\)\.</strong>", html), number
    assert "table2/&lt;configuration&gt;/&lt;component&gt;/&lt;metric&gt;" in html  # item ids and made-by lines
    assert "Appendix: audit trail" in html and re.search(r"rule\s+evaluate_summary\s+-&gt;", html)


@pytest.mark.workflow
def test_report_shows_table2_and_figure3(smoke_run):
    html = " ".join((smoke_run / "results/report/report.html").read_text().split())  # pandoc's line wrapping undone
    assert "Table 2 (paper 000).</strong>" in html and "Figure 3 (paper 000).</strong>" in html
    assert "Fine-tuned Phi-3-medium" in html
    assert (smoke_run / "results/evaluation/figure3_bootstrap.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.workflow
def test_report_shows_every_configuration_on_normal_and_style_shifted_notes(smoke_run):
    import pandas as pd

    html = (smoke_run / "results/report/report.html").read_text()
    assert re.search(r"Style\s+shift:\s+the\s+same\s+encounters\s+in\s+another\s+phrasing", html)  # pandoc wraps lines
    assert "ICD-10-CM shifted" in html and "style_shift/&lt;configuration&gt;" in html
    table = pd.read_csv(smoke_run / "results/evaluation/style_shift.csv")
    ran = pd.read_csv(smoke_run / "results/evaluation/configurations.csv")
    assert set(table["configuration"]) == set(ran.loc[ran["run"], "configuration"])
    assert set(table["notes"]) == {"normal", "shifted", "drop"} and (table["n_cases"] == 3).all()


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
    table2 = html.index("<strong>Table 2 (paper 000).</strong>")
    assert html.index("Result: does this run reproduce") < html.index("About this report") < table2
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
def test_report_shows_paired_comparisons_taxonomy_and_breakdowns(smoke_run):
    from html import unescape

    import pandas as pd

    from claimbench.audit.items import find_item

    html = " ".join(unescape((smoke_run / "results/report/report.html").read_text()).split())
    evaluation = smoke_run / "results/evaluation"
    verdicts = pd.read_csv(evaluation / "ordering_verdict.csv", keep_default_na=False)
    assert set(verdicts.verdict_nonoverlap) <= {"yes", "no", "not separable"}
    paired = pd.read_csv(evaluation / "paired_comparisons.csv")
    assert {"a", "b", "c", "best"} <= set(paired.finding)
    # the paired verdict is first, the rule is stated, and the section comes before Table 2
    assert html.index("Holds here? (paired)") < html.index("Intervals apart? (paper") < html.index("Table 2 (paper 000)")
    assert "the 95% interval of F1(b) − F1(a) lies wholly above zero" in html
    taxonomy = pd.read_csv(evaluation / "taxonomy.csv")
    breakdowns = pd.read_csv(evaluation / "breakdowns.csv")
    ran = set(pd.read_csv(evaluation / "configurations.csv").query("run").configuration)
    assert set(taxonomy.configuration) == ran == set(breakdowns.configuration)
    for (name, system), part in taxonomy[taxonomy.kind == "partition"].groupby(["configuration", "system"]):
        assert part.share.sum() == pytest.approx(1.0) or part.total.iloc[0] == 0, (name, system)
    assert "How the codes are wrong" in html and "Where each configuration fails" in html
    assert "rows: how far their codes are from the coder" in html and "Reading:" in html  # curly quotes in HTML
    assert "Error taxonomy, ICD-10-CM" in html  # paper 003's section
    inputs = json.loads((smoke_run / "results/report/build/inputs.json").read_text())  # the render job's manifest
    item = find_item("taxonomy/knn/icd10/exact/share", inputs)  # knn writes codes even at the smoke size
    assert float(item.value) == pytest.approx(float(taxonomy.query(
        "configuration == 'knn' and system == 'icd10' and category == 'exact'").share.iloc[0]))
    assert find_item("breakdown/knn/training_frequency/unseen/cpt/f1", inputs).path.endswith("breakdowns.csv")


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


# -- the run, not the paper: the audit trail and an independent recomputation -------------------------------------
RAW_EXTRACT = "results/data/raw/synthetic_extract.parquet"


def dry_run_jobs(workdir) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job ``snakemake -n`` plans; empty when nothing is to be done."""
    snakemake = Path(sys.executable).with_name("snakemake")
    result = subprocess.run([str(snakemake), "-n", "--profile", "profiles/smoke", "--cores", "2"], cwd=workdir,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return set()
    jobs = re.split(r"^(?:local)?rule (\S+):$", text, flags=re.MULTILINE)[1:]
    planned = set()
    for rule, block in zip(jobs[::2], jobs[1::2]):
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, flags=re.MULTILINE)
        planned.add((rule, wildcards.group(1) if wildcards else ""))
    return planned


@pytest.mark.workflow
def test_a_library_edit_reruns_exactly_what_it_affects(smoke_run):
    """Docstring and comment edits plan nothing; a code edit in claimbench.evaluation plans the evaluation rules and
    the report (paper 002's evaluation too: it reuses the case metrics), and no data, fine-tuning or prediction rule
    (the params entry `code` of each rule), except where a configuration's decoding is chosen by scoring on the
    validation split (select_decoding uses the evaluation)."""
    import yaml

    from claimbench.plan.finetune import deep_merge

    # the configurations as the smoke run merges them: config.yaml's, with the profile's overrides and additions
    config = deep_merge(yaml.safe_load((smoke_run / "config.yaml").read_text()),
                        yaml.safe_load((smoke_run / "profiles/smoke/overrides.yaml").read_text()))
    tuned = {name for name, conf in config["configurations"].items() if (conf or {}).get("tune_decoding")}
    # the grounded rows' settings and final-code choice are chosen by scoring validation notes as well
    grounded = {name for name, conf in config["configurations"].items()
                if (conf or {}).get("method") == "grounded" or (conf or {}).get("prompt") == "describe"}
    metrics = smoke_run / "src/claimbench/evaluation/metrics.py"
    original = metrics.read_text()
    try:
        assert dry_run_jobs(smoke_run) == set()
        metrics.write_text("# a comment\n" + original.replace('"""', '"""An edited docstring. ', 1))
        assert dry_run_jobs(smoke_run) == set()
        metrics.write_text(original + "\n\ndef _added_by_a_test():\n    return 1\n")
        planned = dry_run_jobs(smoke_run)
        rules = {rule for rule, _ in planned}
        assert {"evaluate_cases", "evaluate_summary", "evaluate_bootstrap", "render_report"} <= rules
        assert rules <= {"evaluate_cases", "evaluate_summary", "evaluate_bootstrap", "evaluate_figure3",
                         "evaluate_verdict", "evaluate_training", "case_browser", "render_report", "all",
                         "select_decoding", "predict", "predictions_summary",
                         # the taxonomy, breakdowns and copying tables read the scored cases
                         "evaluate_taxonomy", "evaluate_breakdowns", "querybench_taxonomy", "copying_table",
                         # the grounded rows' choices made by scoring validation notes
                         "select_grounding_reference", "select_grounding_choice",
                         # the style-shift check and the whole split score their case sets with the same evaluation
                         "predict_case_set", "evaluate_case_set", "evaluate_style_shift", "evaluate_whole_split",
                         # paper 002's evaluation scores charts with the same case metrics
                         "paper002_evaluate", "paper002_figures"}, rules
        for rule in ("select_decoding", "predict", "predict_case_set"):  # only where the evaluation chooses decoding
            configurations = {re.search(r"configuration=([^,\s]+)", wildcards).group(1)
                              for r, wildcards in planned if r == rule}
            assert configurations <= tuned | grounded, (rule, configurations)
    finally:
        metrics.write_text(original)
    assert dry_run_jobs(smoke_run) == set()


@pytest.mark.workflow
def test_trace_reaches_the_raw_extract_from_every_table_and_figure(smoke_run):
    from claimbench.audit.trace import Audit

    audit = Audit(smoke_run)
    families = {}
    for item in audit.items():
        families.setdefault(item.id.split("/", 1)[0], item)
    assert {"table1", "table2", "bootstrap", "training", "figure1", "figure2", "figure3",
            "querybench-exact_match", "querybench-sweep", "style_shift", "figure-style-shift"} <= set(families)
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
    empty: 1 inside a parseable claim, else 0), averaged over the test cases the prediction stage was given (its meta's
    case_ids: the seeded sample of predict.n_test_cases; a case without a prediction line answered nothing); F1 from
    the two means. Codes are read with the library's parser; the rest is recomputed here."""
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
        given = set(json.loads((smoke_run / f"results/predictions/{name}.meta.json").read_text())["case_ids"])
        assert given and given <= set(test.encounter_id.astype(str))
        for case in test[test.encounter_id.astype(str).isin(given)].to_dict("records"):
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
    files = {Path(name).name for name in zipfile.ZipFile(out).namelist()}  # r/data/raw/<hash>/<file name>
    assert {"table1.csv", "figure1_token_lengths.png", "figure2_code_counts.png", "table2.csv",
            "bootstrap_intervals.csv", "figure3_bootstrap.png", "training_stats.csv", "exact_match.csv", "sweep.png",
            "report.html", "report.pdf"} <= files, files


# -- last: it renders the smoke run's report a second time -----------------------------------------------------
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
