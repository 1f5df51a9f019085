"""What the report's Python chunks read: the files the render rule hands over, by name."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

INPUTS_ENV = "CLAIMBENCH_REPORT_INPUTS"
# A number as the report prints it ("0.42", "1,234", "12.5%", "+0.08", "−3"), optionally followed by an interval or a
# cited value in brackets: "0.42 [0.38, 0.45]", "61.2% (57.0–65.3)", "+0.12 (apart, above)".
NUMBER = re.compile(r"^[-+\u2212]?(\d[\d,]*)?\.?\d+%?( [(\[].*[)\]])?$")
INTERVAL_COMMA = re.compile(r", (?=[-+\u2212]?\d)")
# What a column of numbers also holds where a value is missing.
NOT_A_VALUE = {"", "—", "-", "nan", "not run", "n/a"}


def load_inputs() -> dict[str, Path]:
    """name -> absolute path, from the JSON file the render rule writes and names in ``CLAIMBENCH_REPORT_INPUTS``."""
    manifest = os.environ.get(INPUTS_ENV)
    if not manifest:
        raise RuntimeError(f"{INPUTS_ENV} is not set: render the report through the workflow (rule render_report)")
    with open(manifest) as handle:
        return {name: Path(path) for name, path in json.load(handle).items()}


def is_number_column(values: Sequence) -> bool:
    """True when every cell is a number (as NUMBER reads it) or a missing value, and at least one is a number."""
    cells = [str(value).strip() for value in values]
    numbers = [cell for cell in cells if cell not in NOT_A_VALUE]
    return bool(numbers) and all(NUMBER.match(cell) for cell in numbers)


def one_item_per_line(cell: str, separator: str = "; ") -> str:
    """A cell listing items joined by ``separator`` as Markdown spans of class "line", one item per line in both
    formats (report.css; pdf_tables.lua). Brackets are escaped: the span's own are the only ones Markdown reads."""
    items = [re.sub(r"([\[\]])", r"\\\1", item) for item in str(cell).split(separator)]
    return " ".join(f"[{item}]{{.line}}" for item in items)


def table_markdown(frame: pd.DataFrame, caption: str | None = None, interactive: bool = False,
                   one_per_line: Sequence[str] = ()) -> str:
    """A table as Markdown, which both Quarto and the pandoc fallback turn into HTML and Typst tables: columns of
    numbers right-aligned; the columns named in ``one_per_line`` one item per line; with ``interactive``, in a Div
    that the HTML page makes sortable and filterable (the PDF keeps the static table)."""
    frame = frame.copy()
    for column in one_per_line:
        frame[column] = frame[column].map(one_item_per_line)
    align = ["right" if is_number_column(frame[column]) else "left" for column in frame.columns]
    for column, side in zip(frame.columns, align):
        if side == "right":  # a narrow window may put an interval below its value, never break it at its comma
            frame[column] = frame[column].map(lambda cell: INTERVAL_COMMA.sub(",\u00a0", str(cell)))
    # disable_numparse: keep "0.90" as written, not 0.9
    text = frame.to_markdown(index=False, disable_numparse=True, colalign=align or None)
    if caption:
        text += f"\n\n: {caption}"
    return f"::: {{.interactive}}\n{text}\n:::" if interactive else text


def show_table(frame: pd.DataFrame, caption: str | None = None, interactive: bool = False,
               one_per_line: Sequence[str] = ()):
    """Display a table in the report (table_markdown)."""
    from IPython.display import Markdown, display

    display(Markdown(table_markdown(frame, caption, interactive, one_per_line)))
