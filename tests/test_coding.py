"""`claimbench code` on a finished smoke run: every configuration codes the shipped example notes, a test note
coded through the new path gets the prediction file's answer character for character, and bad requests are refused
in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from claimbench.cli import main
from claimbench.coding.run import PAPER002_PREFIX, trained_configurations
from claimbench.data.io import read_encounters

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "new_notes.jsonl"
N_SHARED = 2  # test notes coded again per configuration


def shared_notes(run: Path, configuration: str) -> tuple[list[dict], dict[str, str]]:
    """The first ``N_SHARED`` notes the configuration predicted in the run, as new notes (no codes), and their
    answers in the prediction file."""
    if configuration.startswith(PAPER002_PREFIX):
        split = run / "results/paper002/data/evaluation.parquet"
        predictions = run / f"results/paper002/predictions/{configuration.removeprefix(PAPER002_PREFIX)}.jsonl"
    else:
        split, predictions = run / "results/data/split/test.parquet", run / f"results/predictions/{configuration}.jsonl"
    answers = {}
    for line in predictions.read_text(encoding="utf-8").splitlines()[:N_SHARED]:
        record = json.loads(line)
        answers[record["encounter_id"]] = record["generated_text"]
    notes = read_encounters(split).set_index("encounter_id", drop=False).loc[list(answers)]
    fields = ["encounter_id", "surgery_date", "op_note", "service", "patient_age", "patient_sex"]
    records = [{k: (int(v) if k == "patient_age" else v) for k, v in r.items()}
               for r in notes[fields].to_dict("records")]
    return records, answers


def code(run: Path, notes: Path, configuration: str, out: Path, capsys) -> tuple[int, str, str]:
    status = main(["--root", str(run), "code", str(notes), "--configuration", configuration, "-o", str(out)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def check_configuration(run: Path, configuration: str, tmp: Path, capsys) -> None:
    """The example notes and ``N_SHARED`` of the run's own notes coded in one file by ``configuration``."""
    shared, answers = shared_notes(run, configuration)
    examples = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]
    notes = tmp / "notes.jsonl"
    notes.write_text("".join(json.dumps(n) + "\n" for n in examples + shared), encoding="utf-8")
    out = tmp / configuration / "claims.jsonl"
    status, printed, errors = code(run, notes, configuration, out, capsys)
    assert status == 0, errors
    assert f"{len(examples) + len(shared)} note(s) coded with {configuration}" in printed
    claims = {c["encounter_id"]: c for c in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert list(claims) == [n["encounter_id"] for n in examples + shared]
    for eid, answer in answers.items():
        assert claims[eid]["answer"] == answer, (configuration, eid)
    for claim in claims.values():
        assert isinstance(claim["seconds"], float) and claim["fiscal_year"] >= 2019
        for entry in claim["icd10"]:
            assert isinstance(entry["valid"], bool)
            assert entry["valid"] == (entry["description"] is not None)  # a valid code has its description
    rows = pd.read_csv(out.with_suffix(".csv"), dtype=str, keep_default_na=False)
    n_codes = sum(len(c["icd10"]) + len(c["cpt_lines"]) or 1 for c in claims.values())
    assert len(rows) == n_codes
    page = out.with_suffix(".html").read_text(encoding="utf-8")
    assert all(f">{eid}<" in page for eid in claims)
    meta = json.loads(out.with_suffix(".meta.json").read_text(encoding="utf-8"))
    assert meta["ingestion"]["n_accepted"] == len(claims) and meta["configuration"] == configuration
    record = json.loads((run / f"results/provenance/code_notes/configuration={configuration}.json").read_text())
    assert record["inputs"][0]["sha256"] and record["params"]["configuration"] == configuration


@pytest.fixture(scope="module")
def run(smoke_run):
    return smoke_run


def test_every_configuration_codes_the_examples_and_matches_the_run(run, tmp_path, capsys):
    names = sorted(trained_configurations(run))
    assert "ft-mini+lexicon+grammar" in names and PAPER002_PREFIX + "fine-tuned" in names
    for configuration in names:
        if configuration == "api":
            continue  # refused without its opt-in: test_refusals
        check_configuration(run, configuration, tmp_path, capsys)


def test_a_coded_note_traces_to_the_run(run, tmp_path, capsys):
    status, _, errors = code(run, EXAMPLES, "knn", run / "results/coded/knn/claims.jsonl", capsys)
    assert status == 0, errors
    assert main(["--root", str(run), "trace", "coded/knn/DEMO-001"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("coded/knn/DEMO-001 = ICD-10-CM ")
    assert "rule code_notes[configuration=knn]" in printed and "results/retrieval/train.faiss" in printed


def test_refusals(run, tmp_path, capsys):
    out = tmp_path / "claims.jsonl"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"encounter_id": "B1", "surgery_date": "2040-01-01", "op_note": "text"}) + "\n")
    cases = [
        (run, EXAMPLES, "nonesuch", "unknown configuration 'nonesuch'; this run has: "),
        (run, EXAMPLES, "api", "configuration 'api': disabled in config"),
        (run, empty, "knn", "empty.jsonl: empty file (no records)"),
        (run, bad, "knn", "bad.jsonl: no valid note (1 rejected, e.g. "),
        (tmp_path, EXAMPLES, "knn", "no finished prediction in this run: make one with snakemake "
                                    "results/predictions/knn.jsonl"),
    ]
    for root, notes, configuration, message in cases:
        status, printed, errors = code(root, notes, configuration, out, capsys)
        assert status == 2 and printed == ""
        assert errors.startswith("claimbench code: ") and message in errors and errors.count("\n") == 1, errors
    moved = run / "results/retrieval/train.faiss"
    moved.rename(moved.with_suffix(".away"))
    try:
        status, _, errors = code(run, EXAMPLES, "knn", out, capsys)
    finally:
        moved.with_suffix(".away").rename(moved)
    assert status == 2 and "train.faiss is missing: make it with snakemake results/retrieval/train.faiss" in errors
