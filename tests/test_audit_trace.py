"""Job records, trace and verify on a three-rule stand-in workflow (the real DAG: tests/test_workflow.py)."""

import json
import sys
from pathlib import Path

import pytest
from snakemake.iocontainers import Namedlist

from claimbench.audit.codeversion import code_version
from claimbench.audit.hashing import sha256_file
from claimbench.audit.record import JobRecord, seeds
from claimbench.audit.trace import Audit, format_findings, format_trace
from claimbench.cli import main

TABLE2 = "component,metric,configuration,paper_column,run,value,paper_value\n" \
         "icd10,f1,base,Base,True,0.25,0.30\nicd10,f1,rag,RAG,True,0.5,0.5\nicd10,f1,,Paper-only,False,,0.7\n"


def named(mapping) -> Namedlist:
    """A Snakemake name -> path(s) list, flattened the way Snakemake flattens a named list of files."""
    files = Namedlist()
    for name, value in mapping.items():
        start = len(files)
        files.extend(value if isinstance(value, list) else [value])
        files._set_name(name, start, end=len(files) if isinstance(value, list) else None)
    return files


class FakeJob:
    """What Snakemake's script directive hands a script, for the parts a record reads."""

    def __init__(self, root, rule, inputs, outputs, params=None, wildcards=None, script="scripts/step.py"):
        self.rule, self.threads, self.log = rule, 1, Namedlist()
        self.input, self.output = named(inputs), named(outputs)
        self.wildcards = Namedlist(fromdict=wildcards or {})
        self.resources = Namedlist(fromdict={"mem_mb": 100, "_cores": 1})
        code = {"script": script, "version": code_version(root / script, root).version}
        self.params = Namedlist(fromdict={**(params or {}), "code": code})
        self.scriptdir = str(root / "scripts")


def run_job(root, rule, inputs, outputs, write, **kwargs):
    job = JobRecord(FakeJob(root, rule, inputs, outputs, **kwargs))
    for path, text in write.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
    return job.finish()


@pytest.fixture
def run(tmp_path, monkeypatch):
    """raw extract -> split -> table2 -> report, each job recorded."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts/step.py").write_text("print('step')\n")
    Path("data").mkdir()
    Path("data/extract.csv").write_text("id,code\n1,A01\n")  # the user's extract: no rule makes it
    run_job(tmp_path, "split", {"extract": "data/extract.csv"}, {"test": "results/test.csv"},
            {"results/test.csv": "id\n1\n"}, params={"seed": 7, "fractions": {"test": 0.2}})
    run_job(tmp_path, "predict", {"test": "results/test.csv"}, {"predictions": "results/predictions/base.jsonl"},
            {"results/predictions/base.jsonl": '{"id": 1}\n'}, wildcards={"configuration": "base"})
    run_job(tmp_path, "predict", {"test": "results/test.csv"}, {"predictions": "results/predictions/rag.jsonl"},
            {"results/predictions/rag.jsonl": '{"id": 2}\n'}, wildcards={"configuration": "rag"})
    run_job(tmp_path, "evaluate_summary",
            {"predictions": ["results/predictions/base.jsonl", "results/predictions/rag.jsonl"]},
            {"table2": "results/evaluation/table2.csv"}, {"results/evaluation/table2.csv": TABLE2})
    run_job(tmp_path, "render_report", {"eval_table2": "results/evaluation/table2.csv"},
            {"html": "results/report/report.html"}, {"results/report/report.html": "<html/>"})
    return tmp_path


def test_a_record_holds_hashes_params_seeds_and_code(run):
    record = json.loads((run / "results/provenance/split/job.json").read_text())
    assert record["inputs"] == [{"name": "extract", "path": "data/extract.csv", "kind": "file",
                                 "signature": record["inputs"][0]["signature"],
                                 "sha256": sha256_file(run / "data/extract.csv")}]
    assert record["outputs"][0]["sha256"] == sha256_file(run / "results/test.csv")
    assert record["params"] == {"seed": 7, "fractions": {"test": 0.2}} and record["seeds"] == {"seed": 7}
    assert record["code"]["script"] == "scripts/step.py" and list(record["code"]["files"]) == ["scripts/step.py"]
    assert record["resources"] == {"mem_mb": 100} and record["start"] <= record["end"]
    predict = json.loads((run / "results/provenance/predict/configuration=base.json").read_text())
    assert predict["inputs"][0]["made_by"] == "results/provenance/split/job.json"  # hash taken from the producer


def test_no_record_when_an_output_is_missing_or_the_script_raised(run):
    assert run_job(run, "broken", {}, {"out": "results/never.csv"}, {}) is None
    job = JobRecord(FakeJob(run, "failed", {}, {"out": "results/test.csv"}))
    job.failed = True  # what start_record's excepthook sets
    assert job.finish() is None


def test_seeds_are_found_at_any_depth():
    assert seeds({"seed": 1, "bootstrap": {"seed": 2, "n": 3}, "x": [1]}) == {"seed": 1, "bootstrap.seed": 2}


def test_trace_reaches_the_raw_extract_and_skips_other_configurations(run):
    audit = Audit(run)
    item, nodes = audit.trace("table2/base/icd10/f1")
    assert item.value == "0.25"
    paths = [node.path for node in nodes]
    assert paths[0] == "results/evaluation/table2.csv" and paths[-1] == "data/extract.csv"
    assert nodes[-1].record is None and nodes[-1].depth == 3
    assert "results/predictions/base.jsonl" in paths and "results/predictions/rag.jsonl" not in paths
    text = format_trace(item, nodes, audit)
    assert sha256_file(run / "data/extract.csv") in text and "source file" in text
    assert "rule split -> scripts/step.py" in text and 'param fractions = {"test": 0.2}' in text


def test_verify_names_a_changed_input_and_the_items_above_it(run, capsys):
    assert Audit(run).verify() == []
    extract = run / "data/extract.csv"
    extract.write_bytes(extract.read_bytes().replace(b"A01", b"A02"))  # one byte
    findings = Audit(run).verify()
    assert [(f.kind, f.path) for f in findings] == [("changed", "data/extract.csv")]
    assert findings[0].items == ["table2/base/icd10/f1", "table2/rag/icd10/f1"]
    assert main(["--root", str(run), "verify"]) == 1
    out = capsys.readouterr().out
    assert "changed: data/extract.csv" in out and "table2/* (2)" in out


def test_verify_names_code_that_changed_since_the_run(run):
    (run / "scripts/step.py").write_text("print('another step')\n")
    findings = Audit(run).verify()
    assert {f.kind for f in findings} == {"code"}
    assert "results/evaluation/table2.csv" in {f.path for f in findings}
    assert "code version" in format_findings(findings, Audit(run))


def test_verify_names_a_record_left_behind_by_a_rerun(run):
    run_job(run, "split", {"extract": "data/extract.csv"}, {"test": "results/test.csv"},
            {"results/test.csv": "id\n2\n"}, params={"seed": 8})  # split reran; predict did not
    kinds = {(f.kind, f.path) for f in Audit(run).verify()}
    assert ("stale", "results/test.csv") in kinds


def test_cli_trace_and_unknown_item(run, capsys):
    assert main(["--root", str(run), "trace", "table2/base/icd10/f1"]) == 0
    assert capsys.readouterr().out.startswith("table2/base/icd10/f1 = 0.25")
    assert main(["--root", str(run), "trace", "table2/nope/icd10/f1"]) == 2
    assert "table2/base/icd10/f1" in capsys.readouterr().err  # the error lists the family's ids
    assert main(["--root", str(run), "items"]) == 0
    assert capsys.readouterr().out.split() == ["table2/base/icd10/f1", "table2/rag/icd10/f1"]


def test_python_dash_m_runs_the_cli(run):
    import subprocess

    result = subprocess.run([sys.executable, "-m", "claimbench", "--root", str(run), "verify"],
                            capture_output=True, text=True, env={"PYTHONPATH": str(Path(__file__).parents[1] / "src")})
    assert result.returncode == 0 and result.stdout.startswith("verify: OK"), result.stderr


def test_an_input_changed_since_its_producer_ran_is_hashed_itself(tmp_path, monkeypatch):
    """A file whose size or mtime no longer matches its producer's record is hashed anew: its own content, never
    the producer's record file."""
    import hashlib

    from claimbench.audit.record import describe

    monkeypatch.chdir(tmp_path)
    Path("data.txt").write_text("new content")
    record_file = tmp_path / "producer.json"
    record_file.write_text("{}")
    producers = {"data.txt": (record_file, {"outputs": [{"path": "data.txt", "signature": "stale", "sha256": "old"}]})}
    entry = describe("data.txt", producers)
    assert entry["sha256"] == hashlib.sha256(b"new content").hexdigest()
    assert entry["made_by"] == record_file.as_posix()
