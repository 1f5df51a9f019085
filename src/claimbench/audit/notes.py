"""What the report prints about its own provenance: a "made by" line under each table and figure, and the appendix
that lists every file the report reads with its hash and the job that made it. Read from the job records while the
report renders (every input's job has finished and written its record by then)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from claimbench.audit.items import FIGURES, TABLES
from claimbench.audit.record import LOCK_FILES, RECORDS, git_state, lock_hash
from claimbench.audit.trace import Audit, made_by


def _pattern(family: str, spec) -> str:
    keys = "/".join(f"<{key}>" for key in spec.keys)
    return f"{family}/{keys}" + ("" if spec.values and len(spec.values) == 1 else "/<column>")


# report input name -> the ids of the items it holds
ITEM_PATTERNS = {
    **{spec.input: _pattern(family, spec) for family, spec in TABLES.items()},
    **{spec.input: family for family, spec in FIGURES.items()},
}


def workflow_root(start: str | Path | None = None) -> Path:
    """The workflow's working directory, above ``start`` (the report's chunks run in results/report/build)."""
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / RECORDS).is_dir():
            return folder
    raise FileNotFoundError(f"no {RECORDS} above {start}: render the report through the workflow")


def _audit(inputs: dict[str, Path], root: str | Path | None) -> Audit:
    return Audit(root or workflow_root(), inputs={name: str(path) for name, path in inputs.items()})


def made_by_note(inputs: dict[str, Path], name: str, root: str | Path | None = None) -> str:
    """Markdown: the item id(s) of report input ``name`` and the rule -> script -> library function that made it."""
    audit = _audit(inputs, root)
    path = audit.inputs[name]
    made = audit.index.get(path)
    ids = f"Item `{ITEM_PATTERNS[name]}`" if name in ITEM_PATTERNS else f"File `{path}`"
    origin = made_by(made[1]) if made else "no job record (run the workflow to record it)"
    return f"*{ids}; made by {origin}. `claimbench trace` follows it to the raw extract.*"


def appendix(inputs: dict[str, Path], root: str | Path | None = None) -> tuple[str, pd.DataFrame]:
    """(a sentence on the environment and commit, one row per report input: items, file, sha256, made by)."""
    audit = _audit(inputs, root)
    rows = []
    for name, path in audit.inputs.items():
        if name == "provenance":
            continue  # written by the render job itself
        made = audit.index.get(path)
        entry = next((item for item in made[1]["outputs"] if item["path"] == path), {}) if made else {}
        rows.append({
            "Items": f"`{ITEM_PATTERNS[name]}`" if name in ITEM_PATTERNS else "—",
            "File": path,
            "sha256 (first 16)": entry.get("sha256", "not recorded")[:16],
            "Made by": made_by(made[1]) if made else "no job record",
        })
    git = git_state(audit.root)
    lock = lock_hash(audit.root)
    locks = " + ".join(f"`{name}`" for name in LOCK_FILES)
    text = (f"Environment: {locks}, hash `{lock or 'absent'}`. Git commit `{git.get('commit') or 'unknown'}`"
            f"{' with uncommitted changes' if git.get('dirty') else ''}. Each file below was recorded by the job that "
            "made it, with its full sha256 and its inputs' hashes, params, code version and seeds (`results/provenance/`); "
            "`claimbench trace <item>` prints an item's chain down to the raw extract, and `claimbench verify` "
            "re-hashes everything and names what changed.")
    return text, pd.DataFrame(rows)
