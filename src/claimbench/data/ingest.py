"""Ingesting an extract, or a file of new notes to code (JSONL, Parquet or CSV): every record read
(claimbench.data.readers) and validated against the data contract (claimbench.data.contract).

Validation is strict and loud, and loses nothing: every record either passes into the clean table or goes to the
rejects file with its row number, field and reason. Three rules besides each record's own fields:
- a field outside the contract (it may be an identifier such as a medical record number) is named in the summary and
  dropped, from the clean table and from the rejects file alike;
- an encounter id that repeats an earlier row's, once case and surrounding spaces are ignored ("e1 " and "E1"), is
  rejected as a duplicate of that row: the outputs are keyed by encounter id, and a spreadsheet or a case-insensitive
  file system would merge the two;
- control characters in a note (NUL, escape ...; not tab or line breaks) are removed, and counted in the summary.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from claimbench.data.contract import (CONTRACT_FIELDS, NOTE_CONTRACT_FIELDS, NOTE_FIELDS, REQUIRED_FIELDS, Contract,
                                      RecordError, validate_note, validate_record, without_control_characters)
from claimbench.data.readers import read_raw

log = logging.getLogger(__name__)
READER_KEYS = ("__error__", "__raw__", "__extra_cells__")  # what a reader adds to a row it could not read


@dataclass(frozen=True)
class RecordKind:
    """What a file holds: its required columns, the fields it may hold and the validator of one record."""

    required: tuple[str, ...]
    fields: tuple[str, ...]
    validate: Callable[[dict, Contract], dict]


EXTRACT = RecordKind(REQUIRED_FIELDS, CONTRACT_FIELDS, validate_record)
NOTES = RecordKind(NOTE_FIELDS, NOTE_CONTRACT_FIELDS, validate_note)


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


@dataclass
class IngestResult:
    records: list[dict]
    rejections: list[Rejection]
    n_read: int
    fields_dropped: dict[str, int] = field(default_factory=dict)  # field outside the contract -> rows holding it
    control_characters: dict[int, int] = field(default_factory=dict)  # row -> control characters removed

    def summary(self, path) -> dict:
        by_field: dict[str, int] = {}
        for r in self.rejections:
            key = r.field.split("[")[0]
            by_field[key] = by_field.get(key, 0) + 1
        return {"source": str(path), "n_read": self.n_read, "n_accepted": len(self.records),
                "n_rejected": len(self.rejections), "rejected_by_field": dict(sorted(by_field.items())),
                "fields_dropped": dict(sorted(self.fields_dropped.items())),
                "n_id_collisions": sum(r.reason.startswith("duplicate of row") for r in self.rejections),
                "control_characters_removed": {"n_records": len(self.control_characters),
                                               "n_characters": sum(self.control_characters.values())}}


def id_key(encounter_id: str) -> str:
    """The form two encounter ids collide in: case and surrounding spaces ignored."""
    return encounter_id.strip().casefold()


def ingest(path: str | Path, contract: Contract | None = None, kind: RecordKind = EXTRACT) -> IngestResult:
    """Validate every record of ``path`` as ``kind`` (an extract, or NOTES); duplicates of an encounter id after its
    first row are rejected."""
    contract = contract or Contract()
    rows = read_raw(path, kind.required)
    result = IngestResult([], [], len(rows))
    first_row: dict[str, tuple[int, str]] = {}
    known = set(kind.fields) | set(READER_KEYS)
    for number, raw in rows:
        extra = [name for name in raw if name not in known]
        for name in extra:
            result.fields_dropped[name] = result.fields_dropped.get(name, 0) + 1
        raw = {k: v for k, v in raw.items() if k in known}
        raw, removed = without_control_characters(raw)
        encounter_id = raw.get("encounter_id") if isinstance(raw.get("encounter_id"), str) else None
        try:
            record = kind.validate(raw, contract)
        except RecordError as exc:
            result.rejections.append(Rejection(number, encounter_id, exc.field, exc.reason, raw))
            continue
        key = id_key(record["encounter_id"])
        if key in first_row:
            row, first = first_row[key]
            same = "" if first == record["encounter_id"] else f" ({first!r}: ids are compared ignoring case)"
            result.rejections.append(Rejection(number, record["encounter_id"], "encounter_id",
                                               f"duplicate of row {row}{same}", raw))
            continue
        first_row[key] = (number, record["encounter_id"])
        if removed:
            result.control_characters[number] = removed
            log.warning("%s row %d (encounter_id=%s): field 'op_note': %d control character(s) removed", path,
                        number, record["encounter_id"], removed)
        result.records.append(record)
    if result.fields_dropped:
        log.warning("%s: field(s) outside the data contract dropped: %s", path,
                    ", ".join(sorted(result.fields_dropped)))
    return result


def write_rejections(result: IngestResult, path: str | Path, source) -> None:
    """One JSON line per rejected record: row, field, reason, message, and the record as read (its contract fields:
    nothing of the contract is lost, and nothing outside it is carried on)."""
    with open(path, "w", encoding="utf-8") as handle:
        for r in result.rejections:
            record = {k: v for k, v in r.record.items() if k != "__error__"}
            handle.write(json.dumps({"row": r.row, "encounter_id": r.encounter_id, "field": r.field, "reason": r.reason,
                                     "message": r.message(source), "record": record}, default=str) + "\n")
