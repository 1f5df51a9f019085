"""Malformed extracts as a hospital might send them: each defect class and its siblings.

A file that is not an extract at all gets one file-level error saying what it is; a bad record is rejected with its
row and field; a valid record is never rejected.
"""

import bz2
import codecs
import gzip
import io
import json
import lzma
import random
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from claimbench import codesets
from claimbench.data.check import main as check_main
from claimbench.codesets import CPT_FORMAT, ICD10_FORMAT, MODIFIER_FORMAT
from claimbench.data.contract import Contract
from claimbench.data.ingest import ingest
from claimbench.data.readers import ExtractError

GOOD = {
    "encounter_id": "E1", "surgery_date": "2021-03-04", "service": "Urology", "patient_age": 61, "patient_sex": "M",
    "op_note": "PROCEDURE: cystoscopy", "icd10": ["R31.0"],
    "cpt_lines": [{"provider": "Doe, Jo MD", "cpt": "52000", "modifiers": [], "description": "cystoscopy"}],
}
CSV_HEADER = "encounter_id,surgery_date,service,patient_age,patient_sex,op_note,icd10,cpt_lines\n"
CSV_ROW = 'E1,2021-03-04,Urology,61,M,cystoscopy note,R31.0,"Doe, Jo MD | 52000 | RT | cystoscopy"\n'


def jsonl_text(*records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def with_change(**change) -> dict:
    return {**GOOD, "encounter_id": "E2", **change}


def ingest_one_bad(tmp_path, change, contract=None):
    """Ingest GOOD + a changed record; the changed one's rejection (GOOD must pass)."""
    path = tmp_path / "x.jsonl"
    path.write_text(jsonl_text(GOOD, with_change(**change)))
    result = ingest(path, contract)
    assert [r["encounter_id"] for r in result.records] == ["E1"]
    (rejection,) = result.rejections
    assert rejection.row == 2
    return rejection


# -- fiscal years without a code set: rejected at ingestion, not at evaluation -------------------------------------
@pytest.mark.parametrize("date, fy", [("2027-03-01", 2027), ("1995-06-01", 1995), ("2099-12-31", 2100),
                                      ("2026-10-01", 2027), ("2018-09-30", 2018)])
def test_surgery_date_without_a_code_set_names_the_setting(tmp_path, date, fy):
    rejection = ingest_one_bad(tmp_path, {"surgery_date": date})
    assert rejection.field == "surgery_date"
    assert f"FY{fy}" in rejection.reason and "codesets.icd10cm_files" in rejection.reason


def test_fiscal_year_boundaries_and_a_configured_code_file(tmp_path):
    path = tmp_path / "x.jsonl"
    records = [with_change(encounter_id=f"E{i}", surgery_date=d)
               for i, d in enumerate(["2018-10-01", "2026-09-30", "2027-03-01"])]
    path.write_text(jsonl_text(*records))
    shipped = ingest(path)
    assert [r["fiscal_year"] for r in shipped.records] == [2019, 2026] and len(shipped.rejections) == 1
    configured = ingest(path, Contract.from_config({"2027": "icd10cm_codes_2027.txt"}))  # YAML keys may be text
    assert [r["fiscal_year"] for r in configured.records] == [2019, 2026, 2027] and not configured.rejections


# -- code patterns, per code system ---------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["U07.1", "U09.9", "u071", "QA0.0151", "Z99.89"])
def test_real_icd10cm_codes_are_accepted(tmp_path, code):
    path = tmp_path / "x.jsonl"
    path.write_text(jsonl_text({**GOOD, "surgery_date": "2025-12-01", "icd10": [code]}))
    (record,) = ingest(path).records
    assert record["icd10"] == [codesets.add_dot(code)]


def test_every_shipped_code_matches_its_system_pattern():
    for fy in codesets.shipped_fiscal_years():
        wrong = sorted(c for c in codesets.icd10cm_codes(fy) if not ICD10_FORMAT.match(c))
        assert not wrong, f"FY{fy}: {wrong[:5]}"
    assert all(CPT_FORMAT.match(c) for c in codesets.cpt_codes())
    assert all(MODIFIER_FORMAT.match(m) for m in codesets.modifier_codes())


# -- byte-order marks and other encodings ---------------------------------------------------------------------------
@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_text_with_a_byte_order_mark_reads_like_plain_utf8(tmp_path, codec, kind):
    text = jsonl_text(GOOD, with_change(op_note="café, naïve")) if kind == "jsonl" else CSV_HEADER + CSV_ROW
    plain, marked = tmp_path / f"plain.{kind}", tmp_path / f"marked.{kind}"
    plain.write_bytes(text.encode("utf-8"))
    data = text.encode(codec)
    if codec == "utf-16-be":  # Python writes no mark for an explicit byte order; Windows tools do
        data = codecs.BOM_UTF16_BE + data
    marked.write_bytes(data)
    expected = ingest(plain)
    result = ingest(marked)
    assert result.records == expected.records and not result.rejections and len(result.records) >= 1


def test_windows_export_bom_and_crlf(tmp_path):
    csv_path, jsonl_path = tmp_path / "x.csv", tmp_path / "x.jsonl"
    csv_path.write_bytes(codecs.BOM_UTF8 + (CSV_HEADER + CSV_ROW).replace("\n", "\r\n").encode())
    jsonl_path.write_bytes(codecs.BOM_UTF8 + jsonl_text(GOOD).replace("\n", "\r\n").encode())
    assert [r["encounter_id"] for r in ingest(csv_path).records] == ["E1"]
    assert ingest(jsonl_path).records[0]["op_note"] == GOOD["op_note"]


def test_utf16_without_a_byte_order_mark_is_one_file_error(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes((CSV_HEADER + CSV_ROW).encode("utf-16-le"))
    with pytest.raises(ExtractError, match="NUL bytes in bulk: UTF-16/32 text without a byte-order mark"):
        ingest(path)


# -- files that are not text ----------------------------------------------------------------------------------------
def _zip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("extract.jsonl", data)
    return buffer.getvalue()


def _parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{"encounter_id": "E1"}]), buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
@pytest.mark.parametrize("make, says", [
    (gzip.compress, r"\.gz file \(application/gzip\)"),
    (bz2.compress, r"\.bz2 file"),
    (lzma.compress, r"\.xz file"),
    (lambda data: b"\x28\xb5\x2f\xfd" + data, r"\.zst file"),  # a zstd frame's magic number
    (_zip, r"\.zip file"),
    (lambda _: b"%PDF-1.4\n" + random.Random(13).randbytes(200), r"\.pdf file"),
    (lambda _: _parquet_bytes(), "is a Parquet file"),
    (lambda _: bytes(range(256)) * 40, "binary data, not (JSONL|CSV) text"),
    (lambda _: random.Random(12).randbytes(5000), "binary data, not (JSONL|CSV) text"),
])
def test_compressed_or_binary_file_is_one_error_saying_what_it_is(tmp_path, kind, make, says):
    path = tmp_path / f"extract.{kind}"
    path.write_bytes(make((CSV_HEADER + CSV_ROW).encode() if kind == "csv" else jsonl_text(GOOD).encode()))
    with pytest.raises(ExtractError, match=says) as error:
        ingest(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_random_bytes_without_nul_and_csv_named_jsonl_are_file_errors(tmp_path):
    noise = tmp_path / "noise.jsonl"
    noise.write_bytes(bytes(range(128, 256)) * 10 + b"\n" + bytes(range(200, 256)) + b"\n")
    with pytest.raises(ExtractError, match=r"no line is a JSON object \(first: not valid UTF-8.*binary data"):
        ingest(noise)
    misnamed = tmp_path / "extract.jsonl"
    misnamed.write_text(CSV_HEADER + CSV_ROW)
    with pytest.raises(ExtractError, match=r"row 1: no line is a JSON object .*is it a JSONL file"):
        ingest(misnamed)


def test_json_array_named_jsonl_is_a_file_error(tmp_path):
    path = tmp_path / "extract.jsonl"
    path.write_text(json.dumps([GOOD, with_change()]) + "\n")
    with pytest.raises(ExtractError, match=r"row 1: no line is a JSON object \(first: a JSON object was expected\)"):
        ingest(path)


def test_damaged_parquet_says_what_the_file_is(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(gzip.compress(b"not parquet"))
    with pytest.raises(ExtractError, match=r"is a \.gz file .*not a readable Parquet file"):
        ingest(path)


# -- empty files: the checker fails, the workflow stops at ingestion ----------------------------------------------
@pytest.mark.parametrize("name, content", [("x.jsonl", b""), ("x.jsonl", b"\n  \n\n"), ("x.csv", b""),
                                           ("x.csv", CSV_HEADER.encode()), ("x.csv", codecs.BOM_UTF8 + CSV_HEADER.encode())])
def test_empty_file_is_a_file_error(tmp_path, capsys, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ExtractError, match="empty file|no records"):
        ingest(path)
    assert check_main([str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_parquet_without_rows_is_a_file_error(tmp_path):
    from claimbench.data.io import write_encounters

    path = tmp_path / "x.parquet"
    write_encounters([], path)
    with pytest.raises(ExtractError, match="no records"):
        ingest(path)


# -- booleans and numbers -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, field, reason", [
    ({"patient_age": True}, "patient_age", "True is not a number"),
    ({"patient_age": False}, "patient_age", "not a number"),
    ({"patient_age": "true"}, "patient_age", "not a number"),
    ({"patient_age": "1_0"}, "patient_age", "not a number"),
    ({"patient_age": "1e2"}, "patient_age", "not a number"),
    ({"patient_age": "\u0663"}, "patient_age", "not a number"),  # an Arabic-Indic digit, which float() reads
    ({"patient_age": 61.5}, "patient_age", "whole number"),
    ({"patient_age": "NaN"}, "patient_age", "not a number"),
    ({"patient_age": float("inf")}, "patient_age", "whole number"),
    ({"patient_age": None}, "patient_age", "not a number"),
    ({"encounter_id": True}, "encounter_id", "non-empty string"),
    ({"encounter_id": 2.0}, "encounter_id", "non-empty string"),
    ({"cpt_lines": [{"provider": "A", "cpt": True}]}, "cpt_lines[1].cpt", "not a CPT code"),
    ({"cpt_lines": [{"provider": "A", "cpt": 1402}]}, "cpt_lines[1].cpt", "leading zeros"),
    ({"cpt_lines": [{"provider": "A", "cpt": 52000.0}]}, "cpt_lines[1].cpt", "not a CPT code"),
    ({"icd10": [True]}, "icd10[1]", "not an ICD-10-CM code"),
    ({"icd10": "R31.0"}, "icd10", "non-empty list"),
    ({"op_note": 42}, "op_note", "must be text, got int"),
    ({"patient_sex": True}, "patient_sex", "not one of"),
    ({"surgery_date": 20210304}, "surgery_date", "not a date"),
    ({"surgery_date": "2021-W09-4"}, "surgery_date", "not a date"),  # an ISO week date: not the contract's form
])
def test_bool_and_number_confusions_are_rejected(tmp_path, change, field, reason):
    rejection = ingest_one_bad(tmp_path, change)
    assert rejection.field == field and reason in rejection.reason


@pytest.mark.parametrize("change, expected", [
    ({"patient_age": "61.0"}, {"patient_age": 61}),
    ({"patient_age": " 7 "}, {"patient_age": 7}),
    ({"encounter_id": 17}, {"encounter_id": "17"}),
    ({"cpt_lines": [{"provider": "A", "cpt": 52000}]}, {"cpt_lines": [{"provider": "A", "cpt": "52000", "modifiers": [], "description": ""}]}),
    ({"patient_sex": " f"}, {"patient_sex": "F"}),
    ({"surgery_date": "2021-03-04T23:59:00"}, {"surgery_date": "2021-03-04"}),
    ({"surgery_date": "2021-03-04 00:00:00"}, {"surgery_date": "2021-03-04"}),
])
def test_harmless_variants_are_accepted(tmp_path, change, expected):
    path = tmp_path / "x.jsonl"
    path.write_text(jsonl_text({**GOOD, **change}))
    (record,) = ingest(path).records
    assert {k: record[k] for k in expected} == expected


def test_parquet_bool_age_column_is_rejected(tmp_path):
    path = tmp_path / "x.parquet"
    table = pa.Table.from_pylist([{**GOOD, "patient_age": True}, {**GOOD, "encounter_id": "E2", "patient_age": False}])
    assert table.schema.field("patient_age").type == pa.bool_()
    pq.write_table(table, path)
    result = ingest(path)
    assert not result.records
    assert [(r.row, r.field, r.reason) for r in result.rejections] == [
        (1, "patient_age", "True is not a number"), (2, "patient_age", "False is not a number")]


# -- giant notes, and the JSON message -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["jsonl", "csv"])
def test_ten_megabyte_note_is_rejected_with_the_limit(tmp_path, kind):
    giant = "PROCEDURE: " + "x" * 10_000_000
    path = tmp_path / f"x.{kind}"
    if kind == "jsonl":
        path.write_text(jsonl_text(GOOD, with_change(op_note=giant)))
    else:  # also past csv's own 131,072-character field limit, which would otherwise fail the whole file
        path.write_text(CSV_HEADER + CSV_ROW + CSV_ROW.replace("E1", "E2").replace("cystoscopy note", giant))
    result = ingest(path)
    assert [r["encounter_id"] for r in result.records] == ["E1"]
    (rejection,) = result.rejections
    assert (rejection.row, rejection.field) == (2, "op_note")
    assert "10,000,011 characters" in rejection.reason and "data.max_note_chars" in rejection.reason
    assert len(ingest(path, Contract.from_config(max_note_chars=20_000_000)).records) == 2


def test_json_error_reads_cleanly(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(jsonl_text(GOOD) + '{"encounter_id": "E2", "op_note": "tab\there"}\n')
    (rejection,) = ingest(path).rejections
    assert rejection.reason == "not valid JSON: Invalid control character at (column 39)"
    assert "at at" not in rejection.reason


# -- other record shapes -------------------------------------------------------------------------------------------
def test_repeated_json_key_is_rejected_not_overwritten(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(jsonl_text(GOOD) + json.dumps(with_change())[:-1] + ', "patient_age": 16}\n')
    (rejection,) = ingest(path).rejections
    assert (rejection.row, rejection.field) == (2, "patient_age") and "more than once" in rejection.reason


def test_csv_row_with_surplus_cells_is_rejected_with_them(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(CSV_HEADER + CSV_ROW + CSV_ROW.replace("E1", "E2").replace("cystoscopy note", "note, unquoted"))
    result = ingest(path)
    (rejection,) = result.rejections
    assert (rejection.row, rejection.field) == (2, "<row>") and "1 more cell" in rejection.reason
    assert rejection.record["__extra_cells__"]  # kept: nothing is lost


def test_csv_header_with_spaces_and_semicolons(tmp_path):
    spaced = tmp_path / "spaced.csv"
    spaced.write_text(CSV_HEADER.replace(",", ", ") + CSV_ROW)
    assert len(ingest(spaced).records) == 1
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text(CSV_HEADER.replace(",", ";") + CSV_ROW.replace(",", ";"))
    with pytest.raises(ExtractError, match="separated by ';'"):
        ingest(semicolons)


def test_check_reads_code_files_from_a_config(tmp_path, capsys):
    path = tmp_path / "x.jsonl"
    path.write_text(jsonl_text(with_change(surgery_date="2027-03-01")))
    assert check_main([str(path)]) == 1
    assert "FY2027" in capsys.readouterr().out
    config = tmp_path / "config.yaml"
    config.write_text("codesets: {icd10cm_files: {2027: codes.txt}}\ndata: {max_note_chars: 50}\n")
    assert check_main([str(path), "--config", str(config)]) == 0
