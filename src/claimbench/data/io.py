"""Encounter tables on disk: Parquet with the data contract's columns (lists stay lists)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

CPT_LINE = pa.struct([("provider", pa.string()), ("cpt", pa.string()), ("modifiers", pa.list_(pa.string())),
                      ("description", pa.string())])
ENCOUNTER_SCHEMA = pa.schema([
    ("encounter_id", pa.string()),
    ("surgery_date", pa.string()),
    ("fiscal_year", pa.int32()),
    ("service", pa.string()),
    ("patient_age", pa.int32()),
    ("patient_sex", pa.string()),
    ("op_note", pa.string()),
    ("icd10", pa.list_(pa.string())),
    ("cpt_lines", pa.list_(CPT_LINE)),
])


def write_encounters(records: list[dict] | pd.DataFrame, path: str | Path, extra: dict | None = None) -> None:
    """Write validated encounters; ``extra`` adds columns (e.g. ``split``) given as name -> list."""
    if isinstance(records, pd.DataFrame):
        records = records.to_dict("records")
    table = pa.Table.from_pylist([{k: r[k] for k in ENCOUNTER_SCHEMA.names} for r in records], schema=ENCOUNTER_SCHEMA)
    for name, values in (extra or {}).items():
        table = table.append_column(name, pa.array(values))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def read_encounters(path: str | Path) -> pd.DataFrame:
    """The encounters as a DataFrame whose list columns hold Python lists (and cpt_lines plain dicts)."""
    frame = pq.read_table(path).to_pandas(maps_as_pydicts="strict")
    for column in ("icd10", "cpt_lines"):
        frame[column] = [list(v) for v in frame[column]]
    frame["cpt_lines"] = [[{**line, "modifiers": list(line["modifiers"])} for line in lines] for lines in frame["cpt_lines"]]
    return frame
