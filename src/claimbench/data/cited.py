"""The papers' cited values shipped with the package (``src/claimbench/data/paper*.csv``; lines starting with # are
the file's source notes)."""

from __future__ import annotations

from importlib.resources import files

import pandas as pd


def cited_values(name: str) -> pd.DataFrame:
    """A cited-values table by file stem, e.g. ``paper000_table2`` or ``paper002_levels``."""
    with (files("claimbench.data") / f"{name}.csv").open(encoding="utf-8") as handle:
        return pd.read_csv(handle, comment="#")
