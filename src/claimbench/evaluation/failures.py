"""How and where each configuration fails, as the workflow runs it (rules evaluate_taxonomy and evaluate_breakdowns):
the error taxonomy of every generated code (``taxonomy.py``) and F1 by training frequency, note length and codes per
case (``breakdowns.py``), each as a table and a figure. Beyond paper 000, which scores codes only as right or wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.evaluation.breakdowns import VIEWS, all_breakdowns, note_words, training_counts  # noqa: E402
from claimbench.evaluation.cases import gold_claim, gold_sets  # noqa: E402
from claimbench.evaluation.metrics import COMPONENT_LABELS  # noqa: E402
from claimbench.evaluation.pipeline import _load  # noqa: E402
from claimbench.evaluation.taxonomy import CATEGORIES, ClaimLookups, configuration_taxonomy  # noqa: E402

SYSTEM_LABELS = {**COMPONENT_LABELS, "icd9cm": "ICD-9-CM"}
# One colour per category, from right (green) to far (red), grey for "not a code"
_COLOURS = {"exact": "#1a9850", "side or episode": "#66bd63", "add-on vs primary": "#66bd63", "wrong side": "#66bd63",
            "more general": "#a6d96a", "more specific": "#d9ef8b", "same family": "#a6d96a", "same category": "#fee08b",
            "same chapter": "#fdae61", "other family": "#fdae61", "other chapter": "#d73027",
            "other section": "#d73027", "extra": "#f46d43", "missing": "#74add1", "not a code": "#999999"}


def taxonomy(case_paths: Mapping[str, str], meta_paths: Mapping[str, str], codesets: Mapping, n_resamples: int,
             seed: int, out: Mapping[str, str]) -> pd.DataFrame:
    """taxonomy.csv (shares with intervals), taxonomy_codes.csv (every classified code) and the figure."""
    cases, _, _ = _load(case_paths, meta_paths)
    lookups = ClaimLookups(codesets.get("cpt_catalog"), codesets.get("icd10cm_files"))
    shares, codes = configuration_taxonomy(cases, lookups, n_resamples=n_resamples, seed=seed)
    shares.to_csv(out["table"], index=False)
    codes.to_csv(out["codes"], index=False)
    taxonomy_figure(shares, list(case_paths), out["figure"])
    return shares


def breakdowns(case_paths: Mapping[str, str], meta_paths: Mapping[str, str], train_path: str, test_path: str,
               out: Mapping[str, str]) -> pd.DataFrame:
    """breakdowns.csv and its figure: F1 by training frequency, note length and codes per case."""
    cases, _, _ = _load(case_paths, meta_paths)
    train = read_encounters(train_path)
    claims = [gold_sets(gold_claim(record)) for record in train.to_dict("records")]
    counts = {component: training_counts(claims, component) for component in ("icd10", "cpt")}
    test = read_encounters(test_path)
    words = dict(zip(test.encounter_id.astype(str), note_words(test.op_note)))
    table = all_breakdowns(cases, words, counts)
    table.to_csv(out["table"], index=False)
    breakdowns_figure(table, list(case_paths), out["figure"])
    return table


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def taxonomy_figure(shares: pd.DataFrame, configurations: list[str], path: str | Path,
                    systems: tuple[str, ...] = ("icd10", "cpt", "modifier")) -> Path:
    """One panel per code system: a stacked bar per configuration, the share of each category of its codes."""
    fig, axes = plt.subplots(1, len(systems), figsize=(4.6 * len(systems), 0.45 * max(len(configurations), 3) + 2.2),
                             sharey=True, squeeze=False)
    for ax, system in zip(axes[0], systems):
        part = shares[(shares.system == system) & (shares.kind == "partition")]
        names = [n for n in configurations if n in set(part.configuration)]
        left = np.zeros(len(names))
        for category in CATEGORIES[system]:
            values = np.array([float(part[(part.configuration == n) & (part.category == category)].share.fillna(0)
                                     .sum()) for n in names])
            ax.barh(range(len(names)), values, left=left, color=_COLOURS[category], label=category, height=0.7)
            left += values
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of codes")
        ax.set_title(SYSTEM_LABELS[system], fontsize=10)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)
    fig.suptitle("How each generated code relates to the coder's codes of its case", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def breakdowns_figure(table: pd.DataFrame, configurations: list[str], path: str | Path) -> Path:
    """Rows: training frequency, note length, codes per case; columns: ICD-10-CM, CPT; a line per configuration."""
    components = ("icd10", "cpt")
    fig, axes = plt.subplots(len(VIEWS), len(components), figsize=(10, 3.1 * len(VIEWS)), squeeze=False)
    for row, (view, title) in enumerate(VIEWS.items()):
        for col, component in enumerate(components):
            ax = axes[row][col]
            part = table[(table.view == view) & (table.component == component)]
            groups = part.drop_duplicates("group").sort_values("order").group.tolist()
            for name in configurations:
                mine = part[part.configuration == name].set_index("group").reindex(groups)
                if len(mine):
                    ax.plot(range(len(groups)), mine.f1.to_numpy(dtype=float), marker="o", label=name)
            ax.set_xticks(range(len(groups)))
            ax.set_xticklabels(groups, fontsize=8)
            ax.set_ylim(-0.04, 1.04)
            ax.grid(axis="y", alpha=0.3)
            ax.set_title(f"{COMPONENT_LABELS[component]}: F1 by {title.lower()}", fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _save(fig, path)
