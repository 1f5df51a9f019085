"""The optional evidence fields of the data contract (paper 002): accepted when right, carried through the tables,
and each kind of bad evidence rejected with its row and field."""

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from claimbench.data.ingest import ingest
from claimbench.data.io import read_encounters, write_encounters

from _ingest import reject_second, write_jsonl

NOTE = "OPERATIVE NOTE\nPre-op dx: gross hematuria\nPMH: HTN and DM2.\nProcedure: cystoscopy"
GOOD = {
    "encounter_id": "E1", "surgery_date": "2021-03-04", "service": "Urology", "patient_age": 61, "patient_sex": "M",
    "op_note": NOTE, "icd10": ["R31.0", "I10"],
    "icd10_evidence": [{"code": "R31.0", "line": 1, "text": "gross hematuria"}, {"code": "I10", "line": 2, "text": "HTN"}],
    "cpt_lines": [{"provider": "Doe, Jo MD", "cpt": "52000", "modifiers": [], "description": "cystoscopy",
                   "rationale": "Cystoscopy documented."}],
}


def test_valid_evidence_is_accepted_and_carried_through_the_split_tables(tmp_path):
    result = ingest(write_jsonl(tmp_path / "x.jsonl", [GOOD, {**GOOD, "encounter_id": "E2", "icd10": ["R310", "I10"]}]))
    assert not result.rejections
    first, second = result.records
    assert first["icd10_evidence"] == GOOD["icd10_evidence"] and first["cpt_lines"] == GOOD["cpt_lines"]
    assert second["icd10_evidence"][0]["code"] == "R31.0"  # the code as normalised in icd10
    table = tmp_path / "split.parquet"
    write_encounters(result.records, table)
    frame = read_encounters(table)
    assert frame.loc[0, "icd10_evidence"] == GOOD["icd10_evidence"] and frame.loc[0, "cpt_lines"] == GOOD["cpt_lines"]
    again = tmp_path / "again.parquet"  # split_encounters writes a slice of a read table: nothing is lost
    write_encounters(frame[frame["encounter_id"] == "E1"], again)
    assert ingest(again).records == [first]


def test_records_without_evidence_stay_as_they_were(tmp_path):
    plain = {k: v for k, v in GOOD.items() if k != "icd10_evidence"}
    plain["cpt_lines"] = [{k: v for k, v in GOOD["cpt_lines"][0].items() if k != "rationale"}]
    (record,) = ingest(write_jsonl(tmp_path / "x.jsonl", [plain])).records
    assert "icd10_evidence" not in record and "rationale" not in record["cpt_lines"][0]
    table = tmp_path / "t.parquet"
    write_encounters([record], table)
    frame = read_encounters(table)
    assert frame.loc[0, "icd10_evidence"] is None and frame.loc[0, "cpt_lines"] == plain["cpt_lines"]


def test_parquet_and_csv_evidence(tmp_path):
    parquet = tmp_path / "x.parquet"
    pq.write_table(pa.Table.from_pylist([GOOD]), parquet)
    assert ingest(parquet).records[0]["icd10_evidence"] == GOOD["icd10_evidence"]
    rows = [{**GOOD, "icd10": ";".join(GOOD["icd10"]), "icd10_evidence": json.dumps(GOOD["icd10_evidence"]),
             "cpt_lines": json.dumps(GOOD["cpt_lines"])},
            {**GOOD, "encounter_id": "E2", "icd10": "R31.0;I10", "icd10_evidence": "", "cpt_lines": json.dumps(GOOD["cpt_lines"])},
            {**GOOD, "encounter_id": "E3", "icd10": "R31.0;I10", "icd10_evidence": "[{", "cpt_lines": json.dumps(GOOD["cpt_lines"])}]
    path = tmp_path / "x.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = ingest(path)
    first, second = result.records
    assert first["icd10_evidence"] == GOOD["icd10_evidence"] and first["cpt_lines"][0]["rationale"]
    assert "icd10_evidence" not in second  # an empty cell: no evidence given
    (rejection,) = result.rejections
    assert (rejection.row, rejection.field) == (3, "icd10_evidence") and "JSON" in rejection.reason


def evidence(*changes):
    items = [dict(item) for item in GOOD["icd10_evidence"]]
    for position, change in changes:
        items[position].update(change)
    return items


@pytest.mark.parametrize("change, field, reason", [
    ({"icd10_evidence": evidence()[:1]}, "icd10_evidence", "1 item(s) for 2 icd10 code(s)"),
    ({"icd10_evidence": {"code": "R31.0"}}, "icd10_evidence", "must be a list"),
    ({"icd10_evidence": ["R31.0 at line 1", evidence()[1]]}, "icd10_evidence[1]", "not an evidence item"),
    ({"icd10_evidence": evidence()[::-1]}, "icd10_evidence[1].code", "is not icd10[1] (R31.0)"),
    ({"icd10_evidence": evidence((1, {"code": "E11.9"}))}, "icd10_evidence[2].code", "is not icd10[2] (I10)"),
    ({"icd10_evidence": evidence((0, {"line": 4}))}, "icd10_evidence[1].line", "outside the note, which has lines 0-3"),
    ({"icd10_evidence": evidence((0, {"line": -1}))}, "icd10_evidence[1].line", "outside the note"),
    ({"icd10_evidence": evidence((0, {"line": "1"}))}, "icd10_evidence[1].line", "not a line number"),
    ({"icd10_evidence": evidence((0, {"line": True}))}, "icd10_evidence[1].line", "not a line number"),
    ({"icd10_evidence": evidence((1, {"line": 1}))}, "icd10_evidence[2].text", "'HTN' does not occur in note line 1"),
    ({"icd10_evidence": evidence((0, {"text": "hematuria, gross"}))}, "icd10_evidence[1].text", "does not occur"),
    ({"icd10_evidence": evidence((0, {"text": " "}))}, "icd10_evidence[1].text", "missing evidence text"),
    ({"cpt_lines": [{**GOOD["cpt_lines"][0], "rationale": ["documented"]}]}, "cpt_lines[1].rationale", "must be text"),
])
def test_bad_evidence_is_rejected_with_row_and_field(tmp_path, change, field, reason):
    result = reject_second(tmp_path, GOOD, change, field, reason)
    assert result.summary(tmp_path / "x.jsonl")["rejected_by_field"] == {field.split("[")[0].split(".")[0]: 1}
