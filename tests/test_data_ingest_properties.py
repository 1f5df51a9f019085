"""Property-based tests of ingestion (hypothesis): over generated extracts with random defects, nothing is lost.

Every record read is either accepted or rejected with a message naming its row and field (accepted + rejected =
read, always), and a record that is valid by construction is never rejected.
"""

import csv
import datetime as dt
import json

import filetype
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimbench import codesets
from claimbench.data.contract import CONTROL_CHARACTERS
from claimbench.data.ingest import ingest, write_rejections
from claimbench.data.readers import ExtractError

ICD_SAMPLE = sorted(codesets.icd10cm_codes(2021))[::997] + ["U07.1"]
CPT_SAMPLE = sorted(codesets.cpt_codes())
MODIFIERS = sorted(codesets.modifier_codes())
FIELDS = ("encounter_id", "surgery_date", "service", "patient_age", "patient_sex", "op_note", "icd10", "cpt_lines")
# derandomize: the same examples on every run (CI stays deterministic); raise max_examples to search wider by hand
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# text a record may hold: no lone surrogates (not encodable) and no U+FFFD (ingestion reads it as a decoding fault)
clean_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffd"), max_size=40)
nonblank = clean_text.filter(lambda s: s.strip())
# a note keeps text once its control characters are removed (a note of control characters alone is empty)
note_text = nonblank.filter(lambda s: CONTROL_CHARACTERS.sub("", s).strip())
json_scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | clean_text
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(clean_text, inner, max_size=3), max_leaves=6)


@st.composite
def valid_record(draw, encounter_id: str) -> dict:
    date = draw(st.dates(dt.date(2018, 10, 1), dt.date(2026, 9, 30)))  # FY2019-FY2026: shipped code sets
    line = st.fixed_dictionaries({
        "provider": nonblank, "cpt": st.sampled_from(CPT_SAMPLE),
        "modifiers": st.lists(st.sampled_from(MODIFIERS), max_size=2), "description": clean_text,
    })
    return {
        "encounter_id": encounter_id,
        "surgery_date": date.isoformat(),
        "service": draw(nonblank),
        "patient_age": draw(st.integers(0, 120)),
        "patient_sex": draw(st.sampled_from("FMU")),
        "op_note": draw(note_text),
        "icd10": draw(st.lists(st.sampled_from(ICD_SAMPLE), min_size=1, max_size=4)),
        "cpt_lines": draw(st.lists(line, min_size=1, max_size=3)),
    }


@st.composite
def defect(draw, record: dict) -> dict:
    """The record with one random defect: a field dropped, or set to an arbitrary JSON value."""
    name = draw(st.sampled_from(FIELDS))
    out = dict(record)
    if draw(st.booleans()):
        del out[name]
    else:
        out[name] = draw(json_values)
    return out


@st.composite
def extract(draw) -> tuple[list, set]:
    """JSONL lines (a dict, or raw bytes for a broken line) and the ids that are valid by construction."""
    lines, valid_ids = [], set()
    for index in range(draw(st.integers(1, 12))):
        record = draw(valid_record(f"E{index}"))
        kind = draw(st.sampled_from(["valid", "valid", "defect", "duplicate", "broken"]))
        if kind == "valid":
            lines.append(record)
            valid_ids.add(record["encounter_id"])
        elif kind == "defect":
            lines.append(draw(defect(record)))
        elif kind == "duplicate" and valid_ids:
            lines.append({**record, "encounter_id": sorted(valid_ids)[0]})
        else:
            lines.append(draw(st.binary(min_size=1, max_size=30).filter(_broken_line)))
    return lines, valid_ids


def _broken_line(data: bytes) -> bool:
    """A damaged line: one line, not blank, and not starting with a file signature (gzip, PDF ...): a file that
    begins with one is refused whole, as that kind of file (tests/test_data_ingest_defects.py)."""
    return b"\n" not in data and bool(data.strip()) and filetype.guess(data) is None


def check_accounting(result, path, tmp_path) -> None:
    assert len(result.records) + len(result.rejections) == result.n_read
    for rejection in result.rejections:
        assert rejection.field and 1 <= rejection.row <= result.n_read + 1000
        message = rejection.message(path)
        assert f"row {rejection.row}" in message and f"field '{rejection.field}'" in message
    out = tmp_path / "rejected.jsonl"
    write_rejections(result, out, path)
    assert [json.loads(line)["row"] for line in out.read_text().splitlines()] == [r.row for r in result.rejections]


@PROPERTY_SETTINGS
@given(generated=extract())
def test_jsonl_nothing_lost_and_no_valid_record_rejected(tmp_path, generated):
    lines, valid_ids = generated
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines))
    try:
        result = ingest(path)
    except ExtractError as exc:  # only when no line at all is a JSON object (or the bytes look binary)
        assert not valid_ids and str(path) in str(exc) and "\n" not in str(exc)
        return
    assert result.n_read == len(lines)
    check_accounting(result, path, tmp_path)
    assert valid_ids <= {r["encounter_id"] for r in result.records}


@PROPERTY_SETTINGS
@given(records=st.lists(st.integers(0, 5), min_size=1, max_size=8).flatmap(
    lambda ids: st.tuples(*[valid_record(f"E{i}") for i in ids])), data=st.data())
def test_csv_and_parquet_nothing_lost(tmp_path, records, data):
    """The same accounting for CSV (text cells, some replaced by arbitrary text) and Parquet."""
    rows = []
    for record in records:
        row = {**record, "icd10": ";".join(record["icd10"]), "cpt_lines": json.dumps(record["cpt_lines"])}
        if data.draw(st.booleans()):
            row[data.draw(st.sampled_from(FIELDS))] = data.draw(clean_text)
        rows.append(row)
    path = tmp_path / "x.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    result = ingest(path)
    assert result.n_read == len(rows)
    check_accounting(result, path, tmp_path)
    first_unchanged = {}
    for row, record in zip(rows, records):
        first_unchanged.setdefault(record["encounter_id"], row == {**record, "icd10": ";".join(record["icd10"]),
                                                                   "cpt_lines": json.dumps(record["cpt_lines"])})
    assert {i for i, ok in first_unchanged.items() if ok} <= {r["encounter_id"] for r in result.records}

    parquet = tmp_path / "x.parquet"
    pq.write_table(pa.Table.from_pylist(list(records)), parquet)
    result = ingest(parquet)
    assert result.n_read == len(records)
    check_accounting(result, parquet, tmp_path)
    assert {r["encounter_id"] for r in result.records} == {r["encounter_id"] for r in records}
