"""Validation: every bad record is named by file, row and field, kept in the rejects and counted."""

import json

import pandas as pd
import pytest

from claimbench.data.ingest import ingest, write_rejections
from claimbench.data.readers import ExtractError
from claimbench.data.io import read_encounters, write_encounters

from _ingest import reject_second, write_jsonl

GOOD = {
    "encounter_id": "E1", "surgery_date": "2021-03-04", "service": "Urology", "patient_age": 61, "patient_sex": "M",
    "op_note": "PROCEDURE: cystoscopy", "icd10": ["R31.0"],
    "cpt_lines": [{"provider": "Doe, Jo MD", "cpt": "52000", "modifiers": [], "description": "cystoscopy"}],
}


@pytest.mark.parametrize(
    "change, field, reason",
    [
        ({"icd10": ["H25.11", "250.00"]}, "icd10[2]", "not an ICD-10-CM code"),  # an ICD-9-CM code
        ({"icd10": []}, "icd10", "non-empty list"),
        ({"op_note": "   "}, "op_note", "empty operative note"),
        ({"surgery_date": "2021-02-30"}, "surgery_date", "not a date"),
        ({"surgery_date": "04/03/2021"}, "surgery_date", "not a date"),
        ({"patient_age": -3}, "patient_age", "between 0 and 120"),
        ({"patient_sex": "X"}, "patient_sex", "not one of"),
        ({"cpt_lines": [{"provider": "A", "cpt": "5200", "modifiers": []}]}, "cpt_lines[1].cpt", "not a CPT code"),
        ({"cpt_lines": [{"provider": "A", "cpt": "52000", "modifiers": ["RIGHT"]}]}, "cpt_lines[1].modifiers", "not a CPT modifier"),
        ({"cpt_lines": [{"cpt": "52000"}]}, "cpt_lines[1].provider", "missing provider"),
    ],
)
def test_bad_field_is_rejected_with_row_and_field(tmp_path, change, field, reason):
    reject_second(tmp_path, GOOD, change, field, reason)


def test_duplicates_non_utf8_and_broken_json_lines_are_kept_in_rejects(tmp_path):
    path = tmp_path / "x.jsonl"
    lines = [json.dumps(GOOD).encode(), json.dumps(GOOD).encode(), b'{"encounter_id": "E3", "op_note": "caf\xe9"}', b"{not json"]
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = ingest(path)
    assert len(result.records) == 1 and result.n_read == 4
    reasons = {(r.row, r.field): r.reason for r in result.rejections}
    assert reasons[(2, "encounter_id")] == "duplicate of row 1"
    assert "UTF-8" in reasons[(3, "<line>")] and "JSON" in reasons[(4, "<line>")]
    out = tmp_path / "rejected.jsonl"
    write_rejections(result, out, path)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["row"] for r in rows] == [2, 3, 4] and rows[0]["record"]["encounter_id"] == "E1"
    assert result.summary(path)["rejected_by_field"] == {"<line>": 2, "encounter_id": 1}


def test_csv_lists_and_non_utf8_field(tmp_path):
    path = tmp_path / "x.csv"
    header = "encounter_id,surgery_date,service,patient_age,patient_sex,op_note,icd10,cpt_lines\n"
    good = 'E1,2021-03-04,Urology,61,M,cystoscopy note,R31.0;N32.0,"Doe, Jo MD | 52000 | RT, 51 | cystoscopy"\n'
    bad = "E2,2021-03-04,Urology,61,M,caf\xe9 note,R31.0,Doe | 52000 |  | x\n".encode("latin-1")
    path.write_bytes(header.encode() + good.encode() + bad)
    result = ingest(path)
    (record,) = result.records
    assert record["icd10"] == ["R31.0", "N32.0"]
    assert record["cpt_lines"] == [{"provider": "Doe, Jo MD", "cpt": "52000", "modifiers": ["RT", "51"], "description": "cystoscopy"}]
    (rejection,) = result.rejections
    assert (rejection.row, rejection.field) == (2, "op_note") and "UTF-8" in rejection.reason


def test_missing_column_and_unknown_format_are_one_line_file_errors(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("encounter_id,surgery_date\nE1,2021-01-01\n")
    with pytest.raises(ExtractError, match=r"x\.csv row 0 \(header\): field 'service': required column missing"):
        ingest(path)
    spreadsheet = tmp_path / "x.xlsx"
    spreadsheet.write_text("")
    with pytest.raises(ExtractError, match="unknown extract format"):
        ingest(spreadsheet)


def test_parquet_roundtrip_through_the_contract(tmp_path):
    record = {**GOOD, "fiscal_year": 2021}
    path = tmp_path / "x.parquet"
    write_encounters([record], path)
    result = ingest(path)
    assert result.records == [record] and not result.rejections
    frame = read_encounters(path)
    assert frame.loc[0, "cpt_lines"] == GOOD["cpt_lines"] and frame.loc[0, "icd10"] == ["R31.0"]
    assert isinstance(frame, pd.DataFrame)


def test_check_cli_exit_codes_and_messages(tmp_path, capsys):
    from claimbench.data.check import main

    good = write_jsonl(tmp_path / "good.jsonl", [GOOD])
    assert main([str(good)]) == 0
    bad = write_jsonl(tmp_path / "bad.jsonl", [GOOD, {**GOOD, "encounter_id": "E2", "surgery_date": "yesterday"}])
    assert main([str(bad), str(tmp_path / "rej.jsonl")]) == 1
    out = capsys.readouterr().out
    assert "1 valid, 1 rejected" in out and "row 2 (encounter_id=E2): field 'surgery_date'" in out
    assert (tmp_path / "rej.jsonl").read_text().count("\n") == 1
    assert main([str(tmp_path / "missing.csv")]) == 2
    assert capsys.readouterr().err.count("\n") == 1  # one line, no traceback
