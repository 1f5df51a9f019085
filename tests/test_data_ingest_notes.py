"""New notes to code (record kind NOTES) and the three rules both kinds share: a field outside the contract is named
and dropped everywhere, encounter ids that differ only in case or surrounding spaces collide, control characters in
a note are removed and counted."""

import json

import pandas as pd

from claimbench.data.contract import Contract
from claimbench.data.ingest import NOTES, ingest, write_rejections

from _ingest import write_jsonl

NOTE = {"encounter_id": "N1", "surgery_date": "2024-03-14", "op_note": "PROCEDURE: cataract extraction, right eye"}
RECORD = {**NOTE, "service": "Ophthalmology", "patient_age": 71, "patient_sex": "F", "icd10": ["H25.11"],
          "cpt_lines": [{"provider": "Doe, Jo MD", "cpt": "66984", "modifiers": ["RT"], "description": "cataract"}]}


def test_a_note_needs_only_id_date_and_text(tmp_path):
    result = ingest(write_jsonl(tmp_path / "n.jsonl", [NOTE, {**NOTE, "encounter_id": "N2", "patient_age": "64",
                                                              "patient_sex": "m", "service": " Eye "}]), kind=NOTES)
    assert [r["encounter_id"] for r in result.records] == ["N1", "N2"]
    assert result.records[0] == {**NOTE, "fiscal_year": 2024, "service": None, "patient_age": None,
                                 "patient_sex": None}
    assert (result.records[1]["patient_age"], result.records[1]["patient_sex"], result.records[1]["service"]) == (
        64, "M", "Eye")


def test_a_bad_note_is_rejected_with_its_row_and_field(tmp_path):
    rows = [NOTE, {**NOTE, "encounter_id": "N2", "surgery_date": "2031-01-01"}, {**NOTE, "encounter_id": "N3",
            "patient_age": "old"}, {k: v for k, v in NOTE.items() if k != "op_note"} | {"encounter_id": "N4"}]
    result = ingest(write_jsonl(tmp_path / "n.jsonl", rows), kind=NOTES)
    found = {(r.row, r.field): r.reason for r in result.rejections}
    assert "falls in FY2031, which has no ICD-10-CM code set" in found[(2, "surgery_date")]
    assert found[(3, "patient_age")] == "'old' is not a number"
    assert found[(4, "op_note")] == "required field missing"
    assert len(result.records) == 1


def test_a_csv_of_notes_with_empty_optional_cells(tmp_path):
    path = tmp_path / "n.csv"
    pd.DataFrame([{**NOTE, "service": "", "patient_age": "", "patient_sex": ""}]).to_csv(path, index=False)
    (record,) = ingest(path, kind=NOTES).records
    assert record["service"] is None and record["patient_age"] is None and record["op_note"] == NOTE["op_note"]


def test_a_field_outside_the_contract_is_named_and_dropped_from_every_output(tmp_path):
    for kind, base in ((NOTES, NOTE), (None, RECORD)):
        rows = [{**base, "mrn": "MRN-555"}, {**base, "encounter_id": "X2", "mrn": "MRN-556", "surgery_date": "bad"}]
        path = write_jsonl(tmp_path / "x.jsonl", rows)
        result = ingest(path, kind=kind) if kind else ingest(path)
        summary = result.summary(path)
        assert summary["fields_dropped"] == {"mrn": 2}
        assert all("mrn" not in record for record in result.records)
        write_rejections(result, tmp_path / "rejected.jsonl", path)
        assert "MRN-556" not in (tmp_path / "rejected.jsonl").read_text()


def test_ids_that_differ_only_in_case_or_spaces_are_rejected_as_duplicates(tmp_path):
    rows = [NOTE, {**NOTE, "encounter_id": " n1 "}, {**NOTE, "encounter_id": "N1"}]
    result = ingest(write_jsonl(tmp_path / "n.jsonl", rows), kind=NOTES)
    assert [r["encounter_id"] for r in result.records] == ["N1"]
    reasons = [(r.row, r.reason) for r in result.rejections]
    assert reasons == [(2, "duplicate of row 1 ('N1': ids are compared ignoring case)"), (3, "duplicate of row 1")]
    assert result.summary("n")["n_id_collisions"] == 2


def test_control_characters_in_a_note_are_removed_and_counted(tmp_path):
    note = "PROCEDURE:\x00 cataract\x1b extraction\n\tright eye\r\n"
    for kind, row in ((NOTES, {**NOTE, "op_note": note}), (None, {**RECORD, "op_note": note})):
        path = write_jsonl(tmp_path / "n.jsonl", [row])
        result = ingest(path, kind=kind) if kind else ingest(path)
        assert result.records[0]["op_note"] == "PROCEDURE: cataract extraction\n\tright eye\r\n"
        assert result.summary(path)["control_characters_removed"] == {"n_records": 1, "n_characters": 2}


def test_an_extract_without_extra_fields_or_controls_reports_nothing(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [RECORD])
    summary = ingest(path, Contract()).summary(path)
    assert summary["fields_dropped"] == {} and summary["n_id_collisions"] == 0
    assert summary["control_characters_removed"] == {"n_records": 0, "n_characters": 0}
    assert json.loads(json.dumps(summary)) == summary
