"""The report's tables of how and where configurations fail (taxonomy.csv, breakdowns.csv), formatted: shares as
percentages with their 95% intervals in parentheses, F1 with two decimals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from claimbench.evaluation.breakdowns import VIEWS
from claimbench.evaluation.taxonomy import CATEGORIES, NEAR

# The distance-to-gold view of the paper's rows: (system, category) columns, closest first
DISTANCE = (("icd10", "exact"), ("icd10", "in a gold category"), ("icd10", "in a gold chapter"),
            ("icd10", "not a code"), ("cpt", "exact"), ("cpt", "in a gold family"), ("cpt", "not a code"))
_SYSTEM = {"icd10": "ICD-10-CM", "cpt": "CPT", "modifier": "Modifier", "icd9cm": "ICD-9-CM"}


def _share(row) -> str:
    if row is None or not np.isfinite(row.share):
        return "—"
    interval = f" ({100 * row.lower:.0f}–{100 * row.upper:.0f})" if np.isfinite(row.lower) else ""
    return f"{100 * row.share:.0f}%{interval}"


def _lookup(shares: pd.DataFrame) -> dict[tuple[str, str, str], object]:
    return {(r.configuration, r.system, r.category): r for r in shares.itertuples()}


def taxonomy_display(shares: pd.DataFrame, system: str, configurations: Sequence[str]) -> pd.DataFrame:
    """Rows: configurations that generated codes of ``system``; columns: codes, then each category's share."""
    found = _lookup(shares)
    rows = []
    for name in configurations:
        first = found.get((name, system, CATEGORIES[system][0]))
        if first is None:
            continue
        row = {"Configuration": name, "Codes": f"{int(first.total):,}"}
        for category in (*CATEGORIES[system], *NEAR[system]):
            row[category] = _share(found.get((name, system, category)))
        rows.append(row)
    return pd.DataFrame(rows)


def distance_display(shares: pd.DataFrame, configurations: Sequence[str]) -> pd.DataFrame:
    """How far ``configurations``' codes are from the gold ones (``DISTANCE``)."""
    found = _lookup(shares)
    rows = []
    for name in configurations:
        row = {"Configuration": name}
        for system, category in DISTANCE:
            row[f"{_SYSTEM[system]}: {category}"] = _share(found.get((name, system, category)))
        rows.append(row)
    return pd.DataFrame(rows)


def distance_reading(shares: pd.DataFrame, configurations: Sequence[str]) -> str:
    """One line per configuration, from the numbers: exact share against the share near the gold codes."""
    found = _lookup(shares)
    parts = []
    for name in configurations:
        icd = [found.get((name, "icd10", c)) for c in ("exact", "in a gold chapter", "not a code")]
        cpt = [found.get((name, "cpt", c)) for c in ("exact", "in a gold family")]
        if icd[0] is None or not icd[0].total:
            parts.append(f"{name} writes no ICD-10-CM code")
            continue
        text = (f"{name}: {100 * icd[0].share:.0f}% of its {int(icd[0].total)} ICD-10-CM codes exact, "
                f"{100 * icd[1].share:.0f}% in the chapter of a gold code ({100 * icd[2].share:.0f}% not a code)")
        if cpt[0] is not None and cpt[0].total:
            text += (f"; {100 * cpt[0].share:.0f}% of its {int(cpt[0].total)} CPT codes exact, "
                     f"{100 * cpt[1].share:.0f}% in a gold code's family")
        parts.append(text)
    return "; ".join(parts) + "."


def breakdowns_display(table: pd.DataFrame, configurations: Sequence[str]) -> pd.DataFrame:
    """Rows: view and group (with its size); columns: configurations; cells: ICD-10-CM / CPT F1."""
    rows = []
    for view, title in VIEWS.items():
        part = table[table.view == view]
        for group in part.drop_duplicates("group").sort_values("order").group:
            sizes = part[(part.group == group)].drop_duplicates("component").set_index("component").n
            size = " / ".join(str(int(sizes[c])) if c in sizes else "—" for c in ("icd10", "cpt"))
            row = {"Breakdown": title, "Group": group, "n (ICD-10-CM / CPT)": size}
            for name in configurations:
                mine = part[(part.configuration == name) & (part.group == group)].set_index("component").f1
                if mine.empty:
                    continue
                row[name] = " / ".join(f"{mine[c]:.2f}" if c in mine and np.isfinite(mine[c]) else "—"
                                       for c in ("icd10", "cpt"))
            rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:  # the breakdown's name on its first row only
        frame["Breakdown"] = frame["Breakdown"].where(~frame["Breakdown"].duplicated(), "")
    return frame
