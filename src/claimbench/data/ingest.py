"""Read an extract (JSONL, Parquet or CSV) and validate every record against the data contract.

Validation is strict and loud, and loses nothing: every record either passes into the clean table or goes to the
rejects file with its row number, field and reason. A file that cannot be read at all (unknown format, missing
column, not text, no records) raises ``ExtractError`` with one line naming the file, row and field, or saying what
the file is (e.g. gzip-compressed data named ``.jsonl``).

Text files are UTF-8; a byte-order mark (Windows exports) is honoured, and UTF-16/32 with a byte-order mark is read.
A surgery date must fall in a fiscal year with an ICD-10-CM code set (shipped, or named in config
``codesets.icd10cm_files``): evaluation checks every code against that year's set. Operative notes longer than
``max_note_chars`` are rejected as a likely export fault (a whole file in one cell); the default sits far above any
real operative report and within the paper models' 128k-token context.

Row numbers are 1-based data rows: the line number for JSONL, the row after the header for CSV, the row index + 1
for Parquet.

CSV list fields: ``icd10`` is ``;``-separated; ``cpt_lines`` is either a JSON array or ``;``-separated lines of
``provider | cpt | modifiers (comma-separated) | description``.

Optional evidence (paper 002): ``icd10_evidence``, a list aligned with ``icd10`` of ``{code, line, text}`` (the code,
a 0-based index into ``op_note.split("\\n")``, a span of that line), and a CPT line's ``rationale`` (text). Each is
checked when present; CSV gives ``icd10_evidence`` as a JSON array and a rationale only in the JSON form of
``cpt_lines``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import filetype
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from claimbench.codesets import (CPT_FORMAT, ICD10_FORMAT, MODIFIER_FORMAT, available_fiscal_years, fiscal_year,
                                 missing_code_set_hint)

REQUIRED_FIELDS = ("encounter_id", "surgery_date", "service", "patient_age", "patient_sex", "op_note", "icd10", "cpt_lines")
SEXES = ("F", "M", "U")
DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}([T ].*)?$")  # ISO date, optionally with a time (which is dropped)
AGE_FORMAT = re.compile(r"^\s*[0-9]+(\.[0-9]*)?\s*$")  # plain digits: float() would also take "1_0", "1e2", "٣"
MAX_NOTE_CHARS = 100_000  # ~25k tokens: real operative reports are a few thousand; config data.max_note_chars


@dataclass(frozen=True)
class Contract:
    """What a record is checked against beyond its own fields: fiscal years with a code set, the note size limit."""

    fiscal_years: frozenset[int] = field(default_factory=available_fiscal_years)
    max_note_chars: int = MAX_NOTE_CHARS

    @classmethod
    def from_config(cls, icd10cm_files: dict | None = None, max_note_chars: int | None = None) -> Contract:
        return cls(available_fiscal_years(icd10cm_files), int(max_note_chars or MAX_NOTE_CHARS))


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
    rows = readers[suffix](path)
    if not rows:
        raise ExtractError(f"{path}: no records (the file holds no data rows)")
    return rows


# byte-order marks -> codec; UTF-32 first, since its little-endian mark begins with UTF-16's
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
PARQUET_MAGIC = b"PAR1"


def _text_encoding(path: Path, kind: str) -> str:
    """The codec of an extract that must be text, or one ExtractError saying what the file is instead."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    if not head.strip() and len(head) < 1 << 16:  # a longer blank start is read on, and found empty or not
        raise ExtractError(f"{path}: empty file (no records)")
    for bom, codec in BOMS:
        if head.startswith(bom):
            return codec
    guess = filetype.guess(head)
    if guess is not None:
        raise ExtractError(f"{path}: is a .{guess.extension} file ({guess.mime}), not {kind} text; "
                           f"save the extract as plain UTF-8 {kind}")
    if head.startswith(PARQUET_MAGIC) and _tail(path, len(PARQUET_MAGIC)) == PARQUET_MAGIC:
        raise ExtractError(f"{path}: is a Parquet file, not {kind} text; name it .parquet")
    if head.count(b"\x00") * 10 > len(head):  # every other byte, or three in four: UTF-16/32 without its mark
        raise ExtractError(f"{path}: holds NUL bytes in bulk: UTF-16/32 text without a byte-order mark, or binary "
                           f"data, not {kind} text; save the extract as plain UTF-8 {kind}")
    return "utf-8"


def _tail(path: Path, size: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read()


def _binary(path: Path) -> bool:
    """Whether the file's first block holds NUL bytes or bytes that are not UTF-8: asked only once the file has failed
    to read as its format, so that a damaged line among good ones is rejected alone, not the whole file."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # not merely a character cut at the end of the block
    return b"\x00" in head


def _utf8_lines(path: Path, codec: str) -> Iterable[bytes]:
    """The file's lines as UTF-8 bytes: streamed when it is UTF-8 (BOM dropped), else decoded whole (UTF-16/32)."""
    if codec in ("utf-8", "utf-8-sig"):
        with open(path, "rb") as handle:
            for number, line in enumerate(handle):
                yield line[len(codecs.BOM_UTF8):] if number == 0 and codec == "utf-8-sig" else line
        return
    try:
        text = path.read_bytes().decode(codec)
    except UnicodeDecodeError as exc:
        raise ExtractError(f"{path}: starts with a {codec.upper()} byte-order mark but is not valid {codec.upper()} "
                           f"(byte {exc.start})") from None
    yield from io.BytesIO(text.encode("utf-8", "surrogatepass"))


def _read_jsonl(path: Path) -> list[tuple[int, dict]]:
    rows, objects = [], 0
    for number, raw in enumerate(_utf8_lines(path, _text_encoding(path, "JSONL")), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            rows.append((number, {"__error__": ("<line>", f"not valid UTF-8 at byte {exc.start}"), "__raw__": raw.decode("utf-8", "replace")}))
            continue
        try:
            value = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except DuplicateKey as exc:
            rows.append((number, {"__error__": (exc.key, "the field appears more than once in the record"), "__raw__": text}))
            continue
        except json.JSONDecodeError as exc:
            # exc.msg may end in "at" ("Invalid control character at"), so the position goes in its own clause
            rows.append((number, {"__error__": ("<line>", f"not valid JSON: {exc.msg} (column {exc.colno})"), "__raw__": text}))
            continue
        if not isinstance(value, dict):
            rows.append((number, {"__error__": ("<line>", "a JSON object was expected"), "__raw__": text}))
            continue
        objects += 1
        rows.append((number, value))
    if rows and not objects:  # not one record: the file is not JSONL at all (e.g. a CSV, random bytes)
        number, first = rows[0]
        what = "binary data, not JSONL text" if _binary(path) else "is it a JSONL file?"
        raise ExtractError(f"{path} row {number}: no line is a JSON object (first: {first['__error__'][1]}); {what}")
    return rows


class DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """json's object hook: a repeated key would silently keep its last value, so it is refused."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def _read_parquet(path: Path) -> list[tuple[int, dict]]:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        with open(path, "rb") as handle:
            guess = filetype.guess(handle.read(1 << 16))
        what = f"a .{guess.extension} file ({guess.mime}), " if guess else ""
        raise ExtractError(f"{path}: is {what}not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    _require_columns(path, table.column_names)
    return list(enumerate(table.to_pylist(), start=1))  # nested list columns arrive as plain lists and dicts


# csv's default field limit (131,072 characters) would fail a whole file on one long note; the note limit is
# validation's job (Contract.max_note_chars), where it rejects one record
CSV_FIELD_LIMIT = 2**31 - 1


def _read_csv(path: Path) -> list[tuple[int, dict]]:
    codec = _text_encoding(path, "CSV")
    data = path.read_bytes()
    try:
        # surrogateescape keeps undecodable bytes visible so the row and field can be named instead of failing the file
        text = data.decode(codec, errors="surrogateescape" if codec.startswith("utf-8") else "strict")
    except UnicodeDecodeError as exc:
        raise ExtractError(f"{path}: starts with a {codec.upper()} byte-order mark but is not valid {codec.upper()} "
                           f"(byte {exc.start})") from None
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        what = "binary data, not CSV text" if _binary(path) else f"not readable as CSV ({exc})"
        raise ExtractError(f"{path} row 0 (header): {what}") from None
    reader.fieldnames = [name.strip() for name in header]  # "encounter_id, surgery_date" is still the contract
    if not set(REQUIRED_FIELDS) & set(reader.fieldnames) and _binary(path):
        raise ExtractError(f"{path} row 0 (header): binary data, not CSV text; save the extract as plain UTF-8 CSV")
    _require_columns(path, reader.fieldnames)
    rows = []
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            if None in row:  # more cells than header columns: csv keeps the surplus under the key None
                extra = row.pop(None)
                rows.append((number, {**_clean_surrogates(row), "__extra_cells__": extra,
                                      "__error__": ("<row>", f"{len(extra)} more cell(s) than the header has columns")}))
                continue
            bad = next((k for k, v in row.items() if isinstance(v, str) and _has_surrogates(v)), None)
            if bad:
                rows.append((number, {**_clean_surrogates(row), "__error__": (bad, "not valid UTF-8 text")}))
                continue
            rows.append((number, _parse_csv_lists(row)))
    except csv.Error as exc:
        raise ExtractError(f"{path} row {number + 1}: not readable as CSV ({exc})") from None
    return rows


# undecodable bytes, as Python's surrogateescape error handler represents them
SURROGATES = re.compile("[\udc80-\udcff]")


def _has_surrogates(text: str) -> bool:
    return SURROGATES.search(text) is not None


def _clean_surrogates(row: dict) -> dict:
    return {k: v.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if isinstance(v, str) else v for k, v in row.items()}


def _parse_csv_lists(row: dict) -> dict:
    out = dict(row)
    evidence = row.get("icd10_evidence")
    if isinstance(evidence, str):  # optional column: a JSON array, or empty
        try:
            out["icd10_evidence"] = json.loads(evidence) if evidence.strip() else None
        except json.JSONDecodeError as exc:
            out["__error__"] = ("icd10_evidence", f"not a valid JSON array ({exc.msg})")
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
        hint = ""
        if len(columns) == 1 and (separator := next((s for s in ";\t|" if s in columns[0]), None)):
            hint = f"; the header is separated by {separator!r}: the CSV separator must be ','"
        raise ExtractError(f"{path} row 0 (header): field '{missing[0]}': required column missing "
                           f"(all missing: {missing}){hint}")


# -- validation ------------------------------------------------------------------------------------------------------
def validate_record(raw: dict, contract: Contract | None = None) -> dict:
    """The clean record (typed, with ``fiscal_year``), or RecordError naming the first bad field."""
    contract = contract or Contract()
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

    date = _surgery_date(raw["surgery_date"])
    year = fiscal_year(date)
    if year not in contract.fiscal_years:
        raise RecordError("surgery_date", f"{date.isoformat()} falls in FY{year}, which has no ICD-10-CM code set: "
                                          f"{missing_code_set_hint(year)}")

    service = raw["service"]
    if not isinstance(service, str) or not service.strip():
        raise RecordError("service", f"must be a non-empty string, got {service!r}")

    age = raw["patient_age"]
    # bool is a number to Python (True == 1); a string must be plain digits (float() also reads "1_0" and "1e2")
    if isinstance(age, (bool, np.bool_)) or (isinstance(age, str) and not AGE_FORMAT.match(age)):
        raise RecordError("patient_age", f"{age!r} is not a number")
    try:
        age_value = float(age)
    except (TypeError, ValueError):
        raise RecordError("patient_age", f"{age!r} is not a number") from None
    if age_value != age_value or not 0 <= age_value <= 120 or age_value != int(age_value):
        raise RecordError("patient_age", f"{age!r} is not a whole number of years between 0 and 120")

    sex = raw["patient_sex"]
    sex = sex.strip().upper() if isinstance(sex, str) else sex
    if sex not in SEXES:
        raise RecordError("patient_sex", f"{raw['patient_sex']!r} is not one of {', '.join(SEXES)}")

    note = raw["op_note"]
    if not isinstance(note, str) or not note.strip():
        raise RecordError("op_note", "empty operative note" if isinstance(note, str) or note is None
                          else f"must be text, got {type(note).__name__}")
    if _has_surrogates(note) or "\ufffd" in note:
        raise RecordError("op_note", "not valid UTF-8 text")
    if len(note) > contract.max_note_chars:
        raise RecordError("op_note", f"{len(note):,} characters, over the limit of {contract.max_note_chars:,} "
                                     "(config data.max_note_chars): likely an export fault; raise the limit to keep it")

    icd10 = raw["icd10"]
    if not isinstance(icd10, list) or not icd10:
        raise RecordError("icd10", "must be a non-empty list of ICD-10-CM codes")
    codes = []
    for position, code in enumerate(icd10, start=1):
        normal = _icd10_code(code)
        if normal is None:
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
        number = isinstance(cpt, (int, np.integer)) and not isinstance(cpt, (bool, np.bool_))
        cpt = str(cpt).strip().upper() if isinstance(cpt, str) or number else cpt
        if not isinstance(cpt, str) or not CPT_FORMAT.match(cpt):
            hint = " (a number loses leading zeros: write CPT codes as text)" if number and len(cpt) < 5 else ""
            raise RecordError(f"{where}.cpt", f"{line.get('cpt')!r} is not a CPT code{hint}")
        modifiers = line.get("modifiers") or []
        if not isinstance(modifiers, list):
            raise RecordError(f"{where}.modifiers", f"{modifiers!r} is not a list")
        for modifier in modifiers:
            if not isinstance(modifier, str) or not MODIFIER_FORMAT.match(modifier.strip().upper()):
                raise RecordError(f"{where}.modifiers", f"{modifier!r} is not a CPT modifier")
        description = line.get("description") or ""
        clean = {"provider": provider.strip(), "cpt": cpt, "modifiers": [m.strip().upper() for m in modifiers],
                 "description": str(description)}
        rationale = line.get("rationale")
        if rationale is not None:  # optional (paper 002): why the line is billed
            if not isinstance(rationale, str):
                raise RecordError(f"{where}.rationale", f"must be text, got {type(rationale).__name__}")
            clean["rationale"] = rationale
        clean_lines.append(clean)

    record = {
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
    if raw.get("icd10_evidence") is not None:
        record["icd10_evidence"] = _icd10_evidence(raw["icd10_evidence"], codes, note)
    return record


def _icd10_code(code) -> str | None:
    """The code in its dotted upper-case form, or None if it is not an ICD-10-CM code."""
    normal = code.strip().upper() if isinstance(code, str) else code
    if isinstance(normal, str) and len(normal) > 3 and "." not in normal:
        normal = f"{normal[:3]}.{normal[3:]}"  # CMS style without the dot
    return normal if isinstance(normal, str) and ICD10_FORMAT.match(normal) else None


def _icd10_evidence(items, codes: list[str], note: str) -> list[dict]:
    """Evidence aligned with ``icd10`` (paper 002): item k names code k, a 0-based line of the note
    (``op_note.split("\\n")``) and a span of that line's text."""
    if not isinstance(items, list):
        raise RecordError("icd10_evidence", f"must be a list aligned with icd10, got {type(items).__name__}")
    if len(items) != len(codes):
        raise RecordError("icd10_evidence", f"{len(items)} item(s) for {len(codes)} icd10 code(s): one per code, "
                                            "in the same order")
    lines = note.split("\n")
    clean = []
    for position, (item, code) in enumerate(zip(items, codes), start=1):
        where = f"icd10_evidence[{position}]"
        if not isinstance(item, dict):
            raise RecordError(where, f"{item!r} is not an evidence item {{code, line, text}}")
        if _icd10_code(item.get("code")) != code:
            raise RecordError(f"{where}.code", f"{item.get('code')!r} is not icd10[{position}] ({code})")
        line = item.get("line")
        if isinstance(line, (bool, np.bool_)) or not isinstance(line, (int, np.integer)):
            raise RecordError(f"{where}.line", f"{line!r} is not a line number (0-based, of the note's lines)")
        if not 0 <= line < len(lines):
            raise RecordError(f"{where}.line", f"line {line} is outside the note, which has lines 0-{len(lines) - 1}")
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            raise RecordError(f"{where}.text", "missing evidence text")
        if text not in lines[line]:
            raise RecordError(f"{where}.text", f"{text!r} does not occur in note line {line}")
        clean.append({"code": code, "line": int(line), "text": text})
    return clean


def _surgery_date(value) -> dt.date:
    """A date from a date, a timestamp or an ISO string (``YYYY-MM-DD``, a time after it is dropped)."""
    if isinstance(value, (dt.datetime, pd.Timestamp)) and not pd.isna(value):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and DATE_FORMAT.match(value.strip()):
        try:
            return dt.datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    raise RecordError("surgery_date", f"{value!r} is not a date (YYYY-MM-DD)")


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


def ingest(path: str | Path, contract: Contract | None = None) -> IngestResult:
    """Validate every record of an extract; duplicates of an encounter id after its first row are rejected."""
    contract = contract or Contract()
    rows = read_raw(path)
    records, rejections, first_row = [], [], {}
    for number, raw in rows:
        encounter_id = raw.get("encounter_id") if isinstance(raw.get("encounter_id"), str) else None
        try:
            record = validate_record(raw, contract)
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
