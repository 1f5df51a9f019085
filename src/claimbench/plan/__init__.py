"""Parse-time planning: which jobs run, with which settings, reading and writing which paths, at which priority.

Read by the rules when Snakemake parses the workflow and by the library when it runs, so these modules stay free of
heavy imports (no torch, transformers, pandas).
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def names_pattern(names: Iterable[str]) -> str:
    """A wildcard regex that matches exactly these names (and nothing when there are none)."""
    return "|".join(re.escape(str(name)) for name in names) or "(?!)"
