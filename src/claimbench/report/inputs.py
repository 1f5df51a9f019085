"""What the report's Python chunks read: the files the render rule hands over, by name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

INPUTS_ENV = "CLAIMBENCH_REPORT_INPUTS"


def load_inputs() -> dict[str, Path]:
    """name -> absolute path, from the JSON file the render rule writes and names in ``CLAIMBENCH_REPORT_INPUTS``."""
    manifest = os.environ.get(INPUTS_ENV)
    if not manifest:
        raise RuntimeError(f"{INPUTS_ENV} is not set: render the report through the workflow (rule render_report)")
    with open(manifest) as handle:
        return {name: Path(path) for name, path in json.load(handle).items()}


def show_table(frame: pd.DataFrame, caption: str | None = None):
    """Display a table as Markdown, which both Quarto and the pandoc fallback turn into HTML and Typst tables."""
    from IPython.display import Markdown, display

    text = frame.to_markdown(index=False, disable_numparse=True)  # keep "0.90" as written, not 0.9
    if caption:
        text += f"\n\n: {caption}"
    display(Markdown(text))
