"""The style-shift check (beyond the papers): each configuration's F1 on the same test encounters as the extract's
phrasing bank writes them and as the held-out bank writes them (claimbench.data.shift).

Both columns are over the same encounters (the shifted sample), so the drop is the configuration's dependence on the
training bank's wording, not a different case mix. A configuration that copies strings it saw in training (a phrase
lexicon, a neighbour found by shared words) drops; one that reads the note should not.

Each F1 and each drop has a bootstrap 95% interval: the encounters are resampled with the same indices for both
phrasings and every configuration (``bootstrap.py``, the report's seeded resamples), so replicate r's drop is
F1_normal[r] - F1_shifted[r] and the drop's interval is paired. On a few dozen encounters a drop of 0.1 is within
the noise; the interval says whether it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import numpy as np  # noqa: E402

from claimbench.evaluation.bootstrap import bootstrap_configurations  # noqa: E402
from claimbench.evaluation.metrics import COMPONENT_LABELS, COMPONENTS, summarize_codes  # noqa: E402
from claimbench.evaluation.paired import f1_replicates, percentile_interval  # noqa: E402

NOTES = ("normal", "shifted")
COLUMNS = ["configuration", "component", "notes", "f1", "f1_lower", "f1_upper", "precision", "recall", "n_cases"]
LEVEL = 0.95


def paired_case_sets(normal: Mapping[str, pd.DataFrame], shifted: Mapping[str, pd.DataFrame],
                     configurations: Sequence[str]) -> dict[str, dict[str, pd.DataFrame]]:
    """configuration -> {"normal": its normal cases on the shifted sample's encounters, "shifted": its shifted
    cases}, for the configurations that ran both."""
    out = {}
    for name in configurations:
        if name not in shifted or name not in normal:
            continue
        ids = set(shifted[name]["encounter_id"].astype(str))
        out[name] = {"normal": normal[name][normal[name]["encounter_id"].astype(str).isin(ids)],
                     "shifted": shifted[name]}
    return out


def drop_replicates(pairs: Mapping[str, Mapping[str, pd.DataFrame]], n_resamples: int, seed: int
                    ) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """(configuration, component) -> {"normal", "shifted", "drop"}: F1 per bootstrap replicate, every configuration
    and both phrasings resampled with the same encounter indices (empty without resamples or cases)."""
    names = [name for name, both in pairs.items() if all(len(both[notes]) for notes in NOTES)]
    if n_resamples <= 0 or not names:
        return {}
    column = {(name, notes): str(i) for i, (name, notes) in enumerate((n, k) for n in names for k in NOTES)}
    f1 = f1_replicates(bootstrap_configurations({column[key]: pairs[key[0]][key[1]] for key in column},
                                                n_resamples=n_resamples, seed=seed))
    out = {}
    for name in names:
        for component in COMPONENTS:
            reps = {notes: f1[(column[(name, notes)], component)] for notes in NOTES}
            out[(name, component)] = {**reps, "drop": reps["normal"] - reps["shifted"]}
    return out


def unchanged_share(both: Mapping[str, pd.DataFrame], component: str) -> float:
    """The share of the shifted notes' encounters whose predicted ``component`` codes are the same set as on the
    normal notes (NaN with none): how far the answer moves with the wording at all. A drop near zero where the
    answers move is one set of mostly wrong codes swapped for another (a different neighbour's claim), not a reading
    that survives new words."""
    column = f"pred_{component}"
    normal = dict(zip(both["normal"]["encounter_id"].astype(str), both["normal"][column]))
    same = [frozenset(codes) == frozenset(normal[encounter])
            for encounter, codes in zip(both["shifted"]["encounter_id"].astype(str), both["shifted"][column])
            if encounter in normal]
    return float(np.mean(same)) if same else float("nan")


def _interval(replicates: np.ndarray | None) -> tuple[float, float]:
    if replicates is None or not len(replicates):
        return float("nan"), float("nan")
    lower, upper = percentile_interval(replicates, LEVEL)
    return float(lower), float(upper)


def style_shift_table(normal: Mapping[str, pd.DataFrame], shifted: Mapping[str, pd.DataFrame],
                      configurations: Sequence[str], n_resamples: int = 0, seed: int = 0) -> pd.DataFrame:
    """Long table: configuration, component, notes (normal | shifted | drop), f1 with its bootstrap interval
    (``drop_replicates``; NaN with no resamples), precision, recall, n_cases. The normal rows are scored on the
    shifted sample's encounters only; drop = normal - shifted. A configuration that did not run (absent from
    ``shifted``) has no rows."""
    pairs = paired_case_sets(normal, shifted, configurations)
    return pairs_table(pairs, drop_replicates(pairs, n_resamples, seed))


def pairs_table(pairs: Mapping[str, Mapping[str, pd.DataFrame]],
                replicates: Mapping[tuple[str, str], Mapping[str, np.ndarray]]) -> pd.DataFrame:
    """``style_shift_table`` from ``paired_case_sets`` and their ``drop_replicates`` (for a caller that also needs
    the replicates)."""
    rows = []
    for name, both in pairs.items():
        scores = {notes: summarize_codes(cases, COMPONENTS).set_index("component") for notes, cases in both.items()}
        for component in COMPONENTS:
            reps = replicates.get((name, component), {})
            for notes in NOTES:
                s = scores[notes].loc[component]
                lower, upper = _interval(reps.get(notes))
                rows.append({"configuration": name, "component": component, "notes": notes, "f1": s["f1"],
                             "f1_lower": lower, "f1_upper": upper, "precision": s["precision"],
                             "recall": s["recall"], "n_cases": int(s["n_cases"])})
            drop = {m: scores["normal"].loc[component, m] - scores["shifted"].loc[component, m]
                    for m in ("f1", "precision", "recall")}
            lower, upper = _interval(reps.get("drop"))
            rows.append({"configuration": name, "component": component, "notes": "drop", **drop,
                         "f1_lower": lower, "f1_upper": upper,
                         "n_cases": int(scores["shifted"].loc[component, "n_cases"])})
    return pd.DataFrame(rows, columns=COLUMNS)


def signed_with_interval(value: float, lower: float, upper: float) -> str:
    """"+0.12 (+0.05, +0.19)", or "+0.12" where there is no interval."""
    if not (np.isfinite(lower) and np.isfinite(upper)):
        return f"{value:+.2f}"
    return f"{value:+.2f} ({lower:+.2f}, {upper:+.2f})"


def style_shift_display(table: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration: F1 on normal notes, on shifted notes, and the drop (with its interval), per
    component."""
    if table.empty:
        return pd.DataFrame(columns=["Configuration"])
    out = []
    for name, rows in table.groupby("configuration", sort=False):
        row = {"Configuration": name, "Cases": int(rows["n_cases"].max())}
        for component in COMPONENTS:
            values = rows[rows.component == component].set_index("notes")
            label = COMPONENT_LABELS[component]
            row[f"{label} normal"] = f"{values.loc['normal', 'f1']:.2f}"
            row[f"{label} shifted"] = f"{values.loc['shifted', 'f1']:.2f}"
            drop = values.loc["drop"]
            row[f"{label} drop"] = signed_with_interval(drop["f1"], drop["f1_lower"], drop["f1_upper"])
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
                          meta_paths: Mapping[str, str], table_out: str | Path, figure_out: str | Path,
                          n_resamples: int = 0, seed: int = 0) -> pd.DataFrame:
    """The rule's step: read each configuration's scored cases (normal and shifted), write the table and figure."""
    from claimbench.evaluation.cases import read_meta

    ran = [name for name, path in meta_paths.items() if read_meta(path).get("run", True) is not False]
    normal = {name: pd.read_parquet(normal_paths[name]) for name in ran}
    shifted = {name: pd.read_parquet(shifted_paths[name]) for name in ran}
    table = style_shift_table(normal, shifted, list(meta_paths), n_resamples, seed)
    table.to_csv(table_out, index=False)
    style_shift_figure(table, figure_out)
    return table
