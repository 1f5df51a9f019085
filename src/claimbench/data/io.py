"""Encounter tables on disk: Parquet with the data contract's columns (lists stay lists).

The optional evidence fields (``icd10_evidence``, a CPT line's ``rationale``) are null where the extract had none,
and read back as absent (``None`` / no key), so a record without them round-trips unchanged."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

CPT_LINE = pa.struct([("provider", pa.string()), ("cpt", pa.string()), ("modifiers", pa.list_(pa.string())),
                      ("description", pa.string()), ("rationale", pa.string())])
EVIDENCE = pa.struct([("code", pa.string()), ("line", pa.int32()), ("text", pa.string())])
ENCOUNTER_SCHEMA = pa.schema([
    ("encounter_id", pa.string()),
    ("surgery_date", pa.string()),
    ("fiscal_year", pa.int32()),
    ("service", pa.string()),
    ("patient_age", pa.int32()),
    ("patient_sex", pa.string()),
    ("op_note", pa.string()),
    ("icd10", pa.list_(pa.string())),
    ("icd10_evidence", pa.list_(EVIDENCE)),
    ("cpt_lines", pa.list_(CPT_LINE)),
])


def write_encounters(records: list[dict] | pd.DataFrame, path: str | Path, extra: dict | None = None) -> None:
    """Write validated encounters; ``extra`` adds columns (e.g. ``split``) given as name -> list."""
    if isinstance(records, pd.DataFrame):
        records = records.to_dict("records")
    table = pa.Table.from_pylist([{k: r.get(k) for k in ENCOUNTER_SCHEMA.names} for r in records], schema=ENCOUNTER_SCHEMA)
    for name, values in (extra or {}).items():
        table = table.append_column(name, pa.array(values))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def read_encounters(path: str | Path) -> pd.DataFrame:
    """The encounters as a DataFrame whose list columns hold Python lists (and cpt_lines plain dicts)."""
    frame = pq.read_table(path).to_pandas(maps_as_pydicts="strict")
    for column in ("icd10", "cpt_lines"):
        frame[column] = [list(v) for v in frame[column]]
    frame["cpt_lines"] = [[{**{k: v for k, v in line.items() if not (k == "rationale" and v is None)},
                            "modifiers": list(line["modifiers"])} for line in lines] for lines in frame["cpt_lines"]]
    if "icd10_evidence" in frame:
        frame["icd10_evidence"] = [None if items is None else [dict(item) for item in items]
                                   for items in frame["icd10_evidence"]]
    return frame
