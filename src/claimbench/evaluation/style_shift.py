"""The style-shift check (beyond the papers): each configuration's F1 on the same test encounters as the extract's
phrasing bank writes them and as the held-out bank writes them (claimbench.data.shift).

Both columns are over the same encounters (the shifted sample), so the drop is the configuration's dependence on the
training bank's wording, not a different case mix. A configuration that copies strings it saw in training (a phrase
lexicon, a neighbour found by shared words) drops; one that reads the note should not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from claimbench.evaluation.metrics import COMPONENT_LABELS, COMPONENTS, summarize_codes  # noqa: E402

NOTES = ("normal", "shifted")
COLUMNS = ["configuration", "component", "notes", "f1", "precision", "recall", "n_cases"]


def style_shift_table(normal: Mapping[str, pd.DataFrame], shifted: Mapping[str, pd.DataFrame],
                      configurations: Sequence[str]) -> pd.DataFrame:
    """Long table: configuration, component, notes (normal | shifted | drop), f1, precision, recall, n_cases. The
    normal rows are scored on the shifted sample's encounters only; drop = normal - shifted. A configuration that
    did not run (absent from ``shifted``) has no rows."""
    rows = []
    for name in configurations:
        if name not in shifted or name not in normal:
            continue
        ids = set(shifted[name]["encounter_id"].astype(str))
        same = normal[name][normal[name]["encounter_id"].astype(str).isin(ids)]
        scores = {notes: summarize_codes(cases, COMPONENTS).set_index("component")
                  for notes, cases in (("normal", same), ("shifted", shifted[name]))}
        for component in COMPONENTS:
            for notes in NOTES:
                s = scores[notes].loc[component]
                rows.append({"configuration": name, "component": component, "notes": notes, "f1": s["f1"],
                             "precision": s["precision"], "recall": s["recall"], "n_cases": int(s["n_cases"])})
            drop = {m: scores["normal"].loc[component, m] - scores["shifted"].loc[component, m]
                    for m in ("f1", "precision", "recall")}
            rows.append({"configuration": name, "component": component, "notes": "drop", **drop,
                         "n_cases": int(scores["shifted"].loc[component, "n_cases"])})
    return pd.DataFrame(rows, columns=COLUMNS)


def style_shift_display(table: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration: F1 on normal notes, on shifted notes, and the drop, per component."""
    if table.empty:
        return pd.DataFrame(columns=["Configuration"])
    out = []
    for name, rows in table.groupby("configuration", sort=False):
        row = {"Configuration": name, "Cases": int(rows["n_cases"].max())}
        for component in COMPONENTS:
            values = rows[rows.component == component].set_index("notes")["f1"]
            label = COMPONENT_LABELS[component]
            row[f"{label} normal"] = f"{values['normal']:.2f}"
            row[f"{label} shifted"] = f"{values['shifted']:.2f}"
            row[f"{label} drop"] = f"{values['drop']:+.2f}"
        out.append(row)
    return pd.DataFrame(out)


def style_shift_figure(table: pd.DataFrame, path: str | Path) -> Path:
    """Paired bars per configuration and component: F1 on normal notes and on style-shifted notes (PNG)."""
    names = list(dict.fromkeys(table["configuration"]))
    fig, axes = plt.subplots(1, len(COMPONENTS), figsize=(4.2 * len(COMPONENTS), 3.8), sharey=True, squeeze=False)
    width = 0.38
    for ax, component in zip(axes[0], COMPONENTS):
        for offset, notes, colour in ((-width / 2, "normal", "#4c72b0"), (width / 2, "shifted", "#dd8452")):
            values = [table.loc[(table.configuration == n) & (table.component == component) & (table.notes == notes),
                                "f1"].sum() for n in names]
            ax.bar([i + offset for i in range(len(names))], values, width, label=f"{notes} notes", color=colour)
        ax.set_title(COMPONENT_LABELS[component])
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("F1")
    axes[0][-1].legend(fontsize=8, loc="upper right")
    if not names:
        axes[0][0].text(0.5, 0.5, "no configuration ran", ha="center", transform=axes[0][0].transAxes)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def summarize_style_shift(normal_paths: Mapping[str, str], shifted_paths: Mapping[str, str],
                          meta_paths: Mapping[str, str], table_out: str | Path, figure_out: str | Path) -> pd.DataFrame:
    """The rule's step: read each configuration's scored cases (normal and shifted), write the table and figure."""
    from claimbench.evaluation.cases import read_meta

    ran = [name for name, path in meta_paths.items() if read_meta(path).get("run", True) is not False]
    normal = {name: pd.read_parquet(normal_paths[name]) for name in ran}
    shifted = {name: pd.read_parquet(shifted_paths[name]) for name in ran}
    table = style_shift_table(normal, shifted, list(meta_paths))
    table.to_csv(table_out, index=False)
    style_shift_figure(table, figure_out)
    return table
