"""The report's items (its tables' cells and its figures) by id, and where each one's value is read.

An id is ``<family>/<key>/.../<column>``, e.g. ``table2/ft-medium/icd10/f1`` (configuration, component, metric),
``table1/sex/F``, ``bootstrap/base/cpt/recall/mean``, ``paired/a/base/icd10/rag/icd10/difference`` (finding, low
configuration and component, high configuration and component), ``training/ft-mini/hours``,
``querybench/tiny-llama/free/0.2/icd9cm/exact_match/value``, or a figure: ``figure1``. Each family names the report input (a key of the render rule's inputs, REPORT_INPUTS)
that holds it, so an item leads to one file and from there, through the job records, to the raw extract.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# Table 1's characteristics as the id spells them
TABLE1_SLUGS = {
    "Total Encounters": "total",
    "Patient Age, mean (SD)": "age",
    "Sex, n (%)": "sex",
    "Year of Surgery, n (%)": "year",
    "Service, n (%)": "service",
}


@dataclass(frozen=True)
class Table:
    input: str  # report input name
    keys: tuple[str, ...]  # columns whose values spell the id after the family
    values: tuple[str, ...] | None = None  # value columns (None: every non-key column); a column's name ends the id
    configuration_key: str | None = "configuration"  # narrows the trace to this configuration's files
    drop_empty_key: bool = True
    cited_column: str | None = None  # rows whose value here says "cited" are the paper's, not this run's: no items


@dataclass(frozen=True)
class Figure:
    input: str
    data: tuple[str, ...] = ()  # report inputs that hold the figure's numbers


TABLES = {
    "table1": Table("table1", ("characteristic", "level"), ("value",), configuration_key=None, drop_empty_key=False),
    "table2": Table("eval_table2", ("configuration", "component", "metric"), ("value",)),
    "bootstrap": Table("eval_bootstrap_intervals", ("configuration", "component", "metric")),
    "copying": Table("copying", ("configuration",), ("cpt_copied", "copied_and_right", "answers_describing",
                                                     "names_operation")),
    "training": Table("eval_training", ("configuration",), ("hours", "trainable_params", "total_params",
                      "trainable_share", "trainable_params_paper_convention", "trainable_share_paper_convention")),
    "paired": Table("eval_paired", ("finding", "configuration_low", "component_low", "configuration_high",
                                    "component_high"), configuration_key=None),
    "taxonomy": Table("eval_taxonomy", ("configuration", "system", "category"), ("n", "total", "share", "lower",
                                                                               "upper")),
    "breakdown": Table("eval_breakdowns", ("configuration", "view", "group", "component"),
                       ("n", "precision", "recall", "f1")),
    "querybench": Table("querybench_summary", ("model", "mode", "temperature", "system", "metric"),
                        ("value", "ci_low", "ci_high", "n"), configuration_key=None),
    "querybench-taxonomy": Table("querybench_taxonomy", ("model", "mode", "system", "category"),
                                 ("n", "total", "share", "lower", "upper"), configuration_key=None),
    "style_shift": Table("eval_style_shift", ("configuration", "component", "notes"),
                         ("f1", "f1_lower", "f1_upper", "n_cases")),
    "whole_split": Table("eval_whole_split", ("configuration", "component"),
                         ("f1", "f1_lower", "f1_upper", "difference", "difference_lower", "difference_upper", "verdict",
                          "f1_shifted", "drop", "drop_lower", "drop_upper", "unchanged", "drop_less",
                          "drop_less_lower", "drop_less_upper", "drop_verdict", "n_cases")),
    "querybench-exact_match": Table("querybench_exact_match", ("Source", "Model"), configuration_key=None,
                                    cited_column="Source"),
}
FIGURES = {
    "figure1": Figure("figure1", ("token_lengths",)),
    "figure2": Figure("figure2", ("code_counts",)),
    "figure3": Figure("eval_figure3", ("eval_bootstrap_intervals",)),
    "taxonomy-figure": Figure("eval_taxonomy_figure", ("eval_taxonomy",)),
    "breakdowns-figure": Figure("eval_breakdowns_figure", ("eval_breakdowns",)),
    "querybench-sweep": Figure("querybench_sweep_figure", ("querybench_sweep",)),
    "figure-style-shift": Figure("eval_style_shift_figure", ("eval_style_shift",)),
}


@dataclass
class Item:
    id: str
    value: str
    path: str  # the file the report reads
    focus: str | None = None  # configuration the item belongs to (its trace skips other configurations' files)
    data: list[str] = field(default_factory=list)  # further files (a figure's numbers)


def slug(text) -> str:
    text = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_")


def _read(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _table_items(family: str, spec: Table, path: str) -> list[Item]:
    frame = _read(path)
    missing = [column for column in spec.keys if column not in frame.columns]
    if missing:
        raise ValueError(f"{path}: report item family {family!r} needs columns {missing}; it has {list(frame.columns)}")
    values = spec.values or tuple(column for column in frame.columns if column not in spec.keys)
    items = []
    for row in frame.to_dict("records"):
        if spec.drop_empty_key and any(not row[key] for key in spec.keys):
            continue  # e.g. Table 2's paper-only columns: nothing of this run to trace
        if spec.cited_column and "cited" in row[spec.cited_column]:
            continue
        keys = [TABLE1_SLUGS.get(row[key], row[key]) if family == "table1" else row[key] for key in spec.keys]
        stem = "/".join(slug(key) for key in keys if slug(key))
        focus = row.get(spec.configuration_key) if spec.configuration_key else None
        for column in values:
            item_id = f"{family}/{stem}" + (f"/{slug(column)}" if len(values) > 1 or spec.values is None else "")
            items.append(Item(item_id, row[column], path, focus=focus or None))
    return items


def report_items(inputs: dict[str, str]) -> list[Item]:
    """Every item of the report whose file is among ``inputs`` (report input name -> path)."""
    items = []
    for family, spec in TABLES.items():
        if spec.input in inputs:
            items += _table_items(family, spec, inputs[spec.input])
    for family, spec in FIGURES.items():
        if spec.input in inputs:
            data = [inputs[name] for name in spec.data if name in inputs]
            items.append(Item(family, f"figure ({Path(inputs[spec.input]).suffix[1:].upper()})", inputs[spec.input],
                              data=data))
    return items


def find_item(item_id: str, inputs: dict[str, str]) -> Item:
    items = report_items(inputs)
    for item in items:
        if item.id == item_id:
            return item
    family = item_id.split("/", 1)[0]
    known = sorted({item.id for item in items if item.id.split("/", 1)[0] == family})
    hint = f"; items of {family!r}: {', '.join(known[:12])}{' ...' if len(known) > 12 else ''}" if known else (
        f"; families: {', '.join(sorted({*TABLES, *FIGURES}))}")
    raise KeyError(f"no report item {item_id!r}{hint}")


CODED_PREFIX = "coded/"  # a note coded by rule code_notes or `claimbench code`: coded/<configuration>/<encounter_id>


def coded_item(item_id: str, root: str | Path) -> Item:
    """The item of one coded note: its claim's codes, read from results/coded/<configuration>/claims.jsonl."""
    configuration, _, encounter_id = item_id.removeprefix(CODED_PREFIX).partition("/")
    path = f"results/coded/{configuration}/claims.jsonl"
    file = Path(root) / path
    if not file.is_file():
        raise FileNotFoundError(f"{item_id}: no coded notes of configuration {configuration!r} ({path}); code some "
                                f"with: claimbench code NOTES --configuration {configuration}")
    for line in file.read_text(encoding="utf-8").splitlines():
        claim = json.loads(line)
        if claim["encounter_id"] == encounter_id:
            icd10 = " ".join(code["code"] for code in claim["icd10"]) or "none"
            cpt = " ".join(c["cpt"] + "".join(f"-{m['modifier']}" for m in c["modifiers"]) for c in claim["cpt_lines"])
            return Item(item_id, f"ICD-10-CM {icd10}; CPT {cpt or 'none'}", path, configuration)
    raise KeyError(f"{item_id}: no note {encounter_id!r} in {path}")
