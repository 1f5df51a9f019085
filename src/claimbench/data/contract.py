"""The record contract: what a clean record of an extract is, and ``validate_record`` that turns a raw record into
one or names the first bad field.

A surgery date must fall in a fiscal year with an ICD-10-CM code set (shipped, or named in config
``codesets.icd10cm_files``): evaluation checks every code against that year's set. Operative notes longer than
``max_note_chars`` are rejected as a likely export fault (a whole file in one cell); the default sits far above any
real operative report and within the paper models' 128k-token context.

Optional evidence (paper 002): ``icd10_evidence``, a list aligned with ``icd10`` of ``{code, line, text}`` (the code,
a 0-based index into ``op_note.split("\\n")``, a span of that line), and a CPT line's ``rationale`` (text). Each is
checked when present; CSV gives ``icd10_evidence`` as a JSON array and a rationale only in the JSON form of
``cpt_lines``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from claimbench.codesets import (CPT_FORMAT, ICD10_FORMAT, MODIFIER_FORMAT, available_fiscal_years, fiscal_year,
                                 missing_code_set_hint)

REQUIRED_FIELDS = ("encounter_id", "surgery_date", "service", "patient_age", "patient_sex", "op_note", "icd10", "cpt_lines")
# the fields an extract may hold: the required ones, the evidence (paper 002) and the fiscal year (recomputed from the
# date); any other field is named in the ingestion summary and dropped (it may be an identifier such as an MRN)
CONTRACT_FIELDS = (*REQUIRED_FIELDS, "fiscal_year", "icd10_evidence")
# new notes to code (claimbench.coding): no codes; the patient fields optional
NOTE_FIELDS = ("encounter_id", "surgery_date", "op_note")
OPTIONAL_NOTE_FIELDS = ("service", "patient_age", "patient_sex")
NOTE_CONTRACT_FIELDS = (*NOTE_FIELDS, *OPTIONAL_NOTE_FIELDS, "fiscal_year")
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # C0 controls and DEL, not \t \n \r
SEXES = ("F", "M", "U")
DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}([T ].*)?$")  # ISO date, optionally with a time (which is dropped)
AGE_FORMAT = re.compile(r"^\s*[0-9]+(\.[0-9]*)?\s*$")  # plain digits: float() would also take "1_0", "1e2", "٣"
MAX_NOTE_CHARS = 100_000  # ~25k tokens: real operative reports are a few thousand; config data.max_note_chars

SURROGATES = re.compile("[\udc80-\udcff]")  # undecodable bytes, as surrogateescape reads them


def has_surrogates(text: str) -> bool:
    return SURROGATES.search(text) is not None


@dataclass(frozen=True)
class Contract:
    """What a record is checked against beyond its own fields: fiscal years with a code set, the note size limit."""

    fiscal_years: frozenset[int] = field(default_factory=available_fiscal_years)
    max_note_chars: int = MAX_NOTE_CHARS

    @classmethod
    def from_config(cls, icd10cm_files: dict | None = None, max_note_chars: int | None = None) -> Contract:
        return cls(available_fiscal_years(icd10cm_files), int(max_note_chars or MAX_NOTE_CHARS))


class RecordError(ValueError):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def _check_present(raw: dict, required) -> None:
    """RecordError for a row the reader could not read (``__error__``) or that lacks a required field."""
    if "__error__" in raw:
        raise RecordError(*raw["__error__"])
    missing = [name for name in required if name not in raw]
    if missing:
        raise RecordError(missing[0], "required field missing")


def validate_record(raw: dict, contract: Contract | None = None) -> dict:
    """The clean record (typed, with ``fiscal_year``), or RecordError naming the first bad field."""
    contract = contract or Contract()
    _check_present(raw, REQUIRED_FIELDS)

    encounter_id = _encounter_id(raw["encounter_id"])
    date = _dated(raw["surgery_date"], contract)
    service = _service(raw["service"])
    age = _age(raw["patient_age"])
    sex = _sex(raw["patient_sex"])
    note = _note(raw["op_note"], contract)

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
        "encounter_id": encounter_id,
        "surgery_date": date.isoformat(),
        "fiscal_year": fiscal_year(date),
        "service": service,
        "patient_age": age,
        "patient_sex": sex,
        "op_note": note,
        "icd10": codes,
        "cpt_lines": clean_lines,
    }
    if raw.get("icd10_evidence") is not None:
        record["icd10_evidence"] = _icd10_evidence(raw["icd10_evidence"], codes, note)
    return record


def validate_note(raw: dict, contract: Contract | None = None) -> dict:
    """A new note to code (no codes): ``NOTE_FIELDS`` required, ``OPTIONAL_NOTE_FIELDS`` checked as an extract's
    where given (an empty CSV cell or null counts as not given). The clean record, or RecordError."""
    contract = contract or Contract()
    _check_present(raw, NOTE_FIELDS)
    date = _dated(raw["surgery_date"], contract)
    record = {"encounter_id": _encounter_id(raw["encounter_id"]), "surgery_date": date.isoformat(),
              "fiscal_year": fiscal_year(date)}
    checks = {"service": _service, "patient_age": _age, "patient_sex": _sex}
    for name in OPTIONAL_NOTE_FIELDS:
        value = raw.get(name)
        given = value is not None and not (isinstance(value, str) and not value.strip())
        record[name] = checks[name](value) if given else None
    record["op_note"] = _note(raw["op_note"], contract)
    return record


def _encounter_id(value) -> str:
    if isinstance(value, (int,)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise RecordError("encounter_id", f"must be a non-empty string, got {value!r}")
    return value.strip()


def _dated(value, contract: Contract) -> dt.date:
    """The surgery date, refused unless its fiscal year has an ICD-10-CM code set."""
    date = _surgery_date(value)
    year = fiscal_year(date)
    if year not in contract.fiscal_years:
        raise RecordError("surgery_date", f"{date.isoformat()} falls in FY{year}, which has no ICD-10-CM code set: "
                                          f"{missing_code_set_hint(year)}")
    return date


def _service(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecordError("service", f"must be a non-empty string, got {value!r}")
    return value.strip()


def _age(age) -> int:
    # bool is a number to Python (True == 1); a string must be plain digits (float() also reads "1_0" and "1e2")
    if isinstance(age, (bool, np.bool_)) or (isinstance(age, str) and not AGE_FORMAT.match(age)):
        raise RecordError("patient_age", f"{age!r} is not a number")
    try:
        value = float(age)
    except (TypeError, ValueError):
        raise RecordError("patient_age", f"{age!r} is not a number") from None
    if value != value or not 0 <= value <= 120 or value != int(value):
        raise RecordError("patient_age", f"{age!r} is not a whole number of years between 0 and 120")
    return int(value)


def _sex(value) -> str:
    sex = value.strip().upper() if isinstance(value, str) else value
    if sex not in SEXES:
        raise RecordError("patient_sex", f"{value!r} is not one of {', '.join(SEXES)}")
    return sex


def _note(note, contract: Contract) -> str:
    if not isinstance(note, str) or not note.strip():
        raise RecordError("op_note", "empty operative note" if isinstance(note, str) or note is None
                          else f"must be text, got {type(note).__name__}")
    if has_surrogates(note) or "\ufffd" in note:
        raise RecordError("op_note", "not valid UTF-8 text")
    if len(note) > contract.max_note_chars:
        raise RecordError("op_note", f"{len(note):,} characters, over the limit of {contract.max_note_chars:,} "
                                     "(config data.max_note_chars): likely an export fault; raise the limit to keep it")
    return note


def without_control_characters(raw: dict) -> tuple[dict, int]:
    """``raw`` with control characters (NUL, backspace, form feed, escape ...; not tab or line breaks) removed from
    its note, and how many were removed: an export artefact that no coder sees, and that a tokenizer would read."""
    note = raw.get("op_note")
    if not isinstance(note, str):
        return raw, 0
    clean, n = CONTROL_CHARACTERS.subn("", note)
    return ({**raw, "op_note": clean} if n else raw), n


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
