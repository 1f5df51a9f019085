"""Read an extract (JSONL, Parquet or CSV) and validate every record against the data contract.

Validation is strict and loud, and loses nothing: every record either passes into the clean table or goes to the
rejects file with its row number, field and reason. A file that cannot be read at all (unknown format, missing
column, not JSON) raises ``ExtractError`` with one line naming the file, row and field.

Row numbers are 1-based data rows: the line number for JSONL, the row after the header for CSV, the row index + 1
for Parquet.

CSV list fields: ``icd10`` is ``;``-separated; ``cpt_lines`` is either a JSON array or ``;``-separated lines of
``provider | cpt | modifiers (comma-separated) | description``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from claimbench.codesets import fiscal_year

REQUIRED_FIELDS = ("encounter_id", "surgery_date", "service", "patient_age", "patient_sex", "op_note", "icd10", "cpt_lines")
ICD10_FORMAT = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
CPT_FORMAT = re.compile(r"^[0-9]{4}[0-9FTU]$")  # Category I, II (F) and III (T) codes, and PLA codes (U)
MODIFIER_FORMAT = re.compile(r"^[0-9A-Z]{2}$")
SEXES = ("F", "M", "U")
DATE_RANGE = (dt.date(1990, 1, 1), dt.date(2100, 1, 1))


class ExtractError(ValueError):
    """A file-level problem: the extract cannot be read as a whole."""


@dataclass
class Rejection:
    row: int
    encounter_id: str | None
    field: str
    reason: str
    record: dict = field(repr=False, default_factory=dict)

    def message(self, path) -> str:
        who = f" (encounter_id={self.encounter_id})" if self.encounter_id else ""
        return f"{path} row {self.row}{who}: field '{self.field}': {self.reason}"


class RecordError(ValueError):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


# -- reading ---------------------------------------------------------------------------------------------------------
def read_raw(path: str | Path) -> list[tuple[int, dict]]:
    """(row number, raw record) pairs. Undecodable rows come back as records holding the decoding problem."""
    path = Path(path)
    if not path.exists():
        raise ExtractError(f"{path}: file not found")
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    readers = {".jsonl": _read_jsonl, ".ndjson": _read_jsonl, ".parquet": _read_parquet, ".csv": _read_csv}
    if suffix not in readers:
        raise ExtractError(f"{path}: unknown extract format {suffix!r}; expected .jsonl, .parquet or .csv")
    return readers[suffix](path)


def _read_jsonl(path: Path) -> list[tuple[int, dict]]:
    rows = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                rows.append((number, {"__error__": ("<line>", f"not valid UTF-8 at byte {exc.start}"), "__raw__": raw.decode("utf-8", "replace")}))
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                rows.append((number, {"__error__": ("<line>", f"not valid JSON ({exc.msg} at column {exc.colno})"), "__raw__": text}))
                continue
            if not isinstance(value, dict):
                rows.append((number, {"__error__": ("<line>", "a JSON object was expected"), "__raw__": text}))
                continue
            rows.append((number, value))
    return rows


def _read_parquet(path: Path) -> list[tuple[int, dict]]:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise ExtractError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    _require_columns(path, table.column_names)
    return list(enumerate(table.to_pylist(), start=1))  # nested list columns arrive as plain lists and dicts


def _read_csv(path: Path) -> list[tuple[int, dict]]:
    data = path.read_bytes()
    # surrogateescape keeps undecodable bytes visible so the row and field can be named instead of failing the file
    text = data.decode("utf-8", errors="surrogateescape")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    _require_columns(path, reader.fieldnames or [])
    rows = []
    for number, row in enumerate(reader, start=1):
        bad = next((k for k, v in row.items() if isinstance(v, str) and _has_surrogates(v)), None)
        if bad:
            rows.append((number, {**_clean_surrogates(row), "__error__": (bad, "not valid UTF-8 text")}))
            continue
        rows.append((number, _parse_csv_lists(row)))
    return rows


# undecodable bytes, as Python's surrogateescape error handler represents them
SURROGATES = re.compile("[\udc80-\udcff]")


def _has_surrogates(text: str) -> bool:
    return SURROGATES.search(text) is not None


def _clean_surrogates(row: dict) -> dict:
    return {k: v.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if isinstance(v, str) else v for k, v in row.items()}


def _parse_csv_lists(row: dict) -> dict:
    out = dict(row)
    icd = row.get("icd10")
    out["icd10"] = [c.strip() for c in icd.split(";") if c.strip()] if isinstance(icd, str) else icd
    lines = row.get("cpt_lines")
    if isinstance(lines, str):
        stripped = lines.strip()
        if stripped.startswith("["):
            try:
                out["cpt_lines"] = json.loads(stripped)
            except json.JSONDecodeError as exc:
                out["__error__"] = ("cpt_lines", f"not a valid JSON array ({exc.msg})")
        else:
            parsed = []
            for chunk in filter(None, (c.strip() for c in stripped.split(";"))):
                parts = [p.strip() for p in chunk.split("|")]
                if len(parts) < 2:
                    parsed.append(chunk)  # rejected by validation with its text
                    continue
                mods = [m.strip() for m in parts[2].split(",") if m.strip()] if len(parts) > 2 else []
                parsed.append({"provider": parts[0], "cpt": parts[1], "modifiers": mods,
                               "description": parts[3] if len(parts) > 3 else ""})
            out["cpt_lines"] = parsed
    return out


def _require_columns(path, columns) -> None:
    missing = [name for name in REQUIRED_FIELDS if name not in set(columns)]
    if missing:
        raise ExtractError(f"{path} row 0 (header): field '{missing[0]}': required column missing (all missing: {missing})")


# -- validation ------------------------------------------------------------------------------------------------------
def validate_record(raw: dict) -> dict:
    """The clean record (typed, with ``fiscal_year``), or RecordError naming the first bad field."""
    if "__error__" in raw:
        raise RecordError(*raw["__error__"])
    missing = [name for name in REQUIRED_FIELDS if name not in raw]
    if missing:
        raise RecordError(missing[0], "required field missing")

    encounter_id = raw["encounter_id"]
    if isinstance(encounter_id, (int,)) and not isinstance(encounter_id, bool):
        encounter_id = str(encounter_id)
    if not isinstance(encounter_id, str) or not encounter_id.strip():
        raise RecordError("encounter_id", f"must be a non-empty string, got {encounter_id!r}")

    date = raw["surgery_date"]
    if isinstance(date, (dt.datetime, pd.Timestamp)):
        date = date.date()
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date.strip())
        except ValueError:
            raise RecordError("surgery_date", f"{raw['surgery_date']!r} is not a date (YYYY-MM-DD)") from None
    if not isinstance(date, dt.date):
        raise RecordError("surgery_date", f"{raw['surgery_date']!r} is not a date (YYYY-MM-DD)")
    if not DATE_RANGE[0] <= date < DATE_RANGE[1]:
        raise RecordError("surgery_date", f"{date.isoformat()} is outside {DATE_RANGE[0].year}-{DATE_RANGE[1].year - 1}")

    service = raw["service"]
    if not isinstance(service, str) or not service.strip():
        raise RecordError("service", f"must be a non-empty string, got {service!r}")

    age = raw["patient_age"]
    try:
        age_value = float(age)
    except (TypeError, ValueError):
        raise RecordError("patient_age", f"{age!r} is not a number") from None
    if age_value != age_value or not 0 <= age_value <= 120 or age_value != int(age_value):
        raise RecordError("patient_age", f"{age!r} is not a whole number of years between 0 and 120")

    sex = raw["patient_sex"]
    if sex not in SEXES:
        raise RecordError("patient_sex", f"{sex!r} is not one of {', '.join(SEXES)}")

    note = raw["op_note"]
    if not isinstance(note, str) or not note.strip():
        raise RecordError("op_note", "empty operative note")
    if _has_surrogates(note) or "\ufffd" in note:
        raise RecordError("op_note", "not valid UTF-8 text")

    icd10 = raw["icd10"]
    if not isinstance(icd10, list) or not icd10:
        raise RecordError("icd10", "must be a non-empty list of ICD-10-CM codes")
    codes = []
    for position, code in enumerate(icd10, start=1):
        normal = code.strip().upper() if isinstance(code, str) else code
        if isinstance(normal, str) and len(normal) > 3 and "." not in normal:
            normal = f"{normal[:3]}.{normal[3:]}"  # CMS style without the dot
        if not isinstance(normal, str) or not ICD10_FORMAT.match(normal):
            raise RecordError(f"icd10[{position}]", f"{code!r} is not an ICD-10-CM code")
        codes.append(normal)

    lines = raw["cpt_lines"]
    if not isinstance(lines, list) or not lines:
        raise RecordError("cpt_lines", "must be a non-empty list of CPT lines")
    clean_lines = []
    for position, line in enumerate(lines, start=1):
        where = f"cpt_lines[{position}]"
        if not isinstance(line, dict):
            raise RecordError(where, f"{line!r} is not a CPT line (provider | cpt | modifiers | description)")
        provider, cpt = line.get("provider"), line.get("cpt")
        if not isinstance(provider, str) or not provider.strip():
            raise RecordError(f"{where}.provider", "missing provider")
        cpt = str(cpt).strip().upper() if isinstance(cpt, (str, int)) else cpt
        if not isinstance(cpt, str) or not CPT_FORMAT.match(cpt):
            raise RecordError(f"{where}.cpt", f"{line.get('cpt')!r} is not a CPT code")
        modifiers = line.get("modifiers") or []
        if not isinstance(modifiers, list):
            raise RecordError(f"{where}.modifiers", f"{modifiers!r} is not a list")
        for modifier in modifiers:
            if not isinstance(modifier, str) or not MODIFIER_FORMAT.match(modifier.strip().upper()):
                raise RecordError(f"{where}.modifiers", f"{modifier!r} is not a CPT modifier")
        description = line.get("description") or ""
        clean_lines.append({"provider": provider.strip(), "cpt": cpt,
                            "modifiers": [m.strip().upper() for m in modifiers], "description": str(description)})

    return {
        "encounter_id": encounter_id.strip(),
        "surgery_date": date.isoformat(),
        "fiscal_year": fiscal_year(date),
        "service": service.strip(),
        "patient_age": int(age_value),
        "patient_sex": sex,
        "op_note": note,
        "icd10": codes,
        "cpt_lines": clean_lines,
    }


@dataclass
class IngestResult:
    records: list[dict]
    rejections: list[Rejection]
    n_read: int

    def summary(self, path) -> dict:
        by_field: dict[str, int] = {}
        for r in self.rejections:
            key = r.field.split("[")[0]
            by_field[key] = by_field.get(key, 0) + 1
        return {"source": str(path), "n_read": self.n_read, "n_accepted": len(self.records),
                "n_rejected": len(self.rejections), "rejected_by_field": dict(sorted(by_field.items()))}


def ingest(path: str | Path) -> IngestResult:
    """Validate every record of an extract; duplicates of an encounter id after its first row are rejected."""
    rows = read_raw(path)
    records, rejections, first_row = [], [], {}
    for number, raw in rows:
        encounter_id = raw.get("encounter_id") if isinstance(raw.get("encounter_id"), str) else None
        try:
            record = validate_record(raw)
        except RecordError as exc:
            rejections.append(Rejection(number, encounter_id, exc.field, exc.reason, raw))
            continue
        if record["encounter_id"] in first_row:
            rejections.append(Rejection(number, record["encounter_id"], "encounter_id",
                                        f"duplicate of row {first_row[record['encounter_id']]}", raw))
            continue
        first_row[record["encounter_id"]] = number
        records.append(record)
    return IngestResult(records, rejections, len(rows))


def write_rejections(result: IngestResult, path: str | Path, source) -> None:
    """One JSON line per rejected record: row, field, reason, message, and the record as read (nothing is lost)."""
    with open(path, "w", encoding="utf-8") as handle:
        for r in result.rejections:
            record = {k: v for k, v in r.record.items() if k != "__error__"}
            handle.write(json.dumps({"row": r.row, "encounter_id": r.encounter_id, "field": r.field, "reason": r.reason,
                                     "message": r.message(source), "record": record}, default=str) + "\n")
