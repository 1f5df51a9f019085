"""Ingesting an extract (JSONL, Parquet or CSV): every record read (claimbench.data.readers) and validated against
the data contract (claimbench.data.contract).

Validation is strict and loud, and loses nothing: every record either passes into the clean table or goes to the
rejects file with its row number, field and reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from claimbench.data.contract import Contract, RecordError, validate_record
from claimbench.data.readers import read_raw


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
