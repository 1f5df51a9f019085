"""Figure 3 of paper 000: box plots of bootstrapped mean recall and precision per configuration and claim component.

Rows: recall, precision. Columns: ICD-10-CM, CPT, modifiers. One box per configuration that ran (1000 bootstrap
replicate means, outliers shown, as in the paper); every configuration keeps its place on the axis, a configuration
that did not run is labelled "not run". The paper's Table 2 value of the configuration each one stands in for is
drawn beside its box as a marker (the paper prints Figure 3 as an image only, so its point estimates are the numbers
that can be shown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from claimbench.evaluation.metrics import COMPONENT_LABELS, COMPONENTS  # noqa: E402


def figure3(
    replicates: pd.DataFrame,
    configurations: Sequence[str],
    run: Mapping[str, bool],
    paper_columns: Mapping[str, str],
    paper: pd.DataFrame,
    path: str | Path,
    n_cases: int | None = None,
) -> Path:
    """Draw Figure 3 to ``path`` (PNG) from the bootstrap replicates (configuration, component, metric, value)."""
    cited = {(r.component, r.metric, r.column): float(r.value) for r in paper.itertuples()}
    fig, axes = plt.subplots(2, len(COMPONENTS), figsize=(4.2 * len(COMPONENTS), 7.5), sharey=True, squeeze=False)
    labels = [name if run.get(name, False) else f"{name}\n(not run)" for name in configurations]
    positions = list(range(1, len(configurations) + 1))
    for row, metric in enumerate(("recall", "precision")):
        for col, component in enumerate(COMPONENTS):
            ax = axes[row][col]
            data, where = [], []
            for position, name in zip(positions, configurations):
                values = replicates.loc[
                    (replicates.configuration == name)
                    & (replicates.component == component)
                    & (replicates.metric == metric),
                    "value",
                ]
                if run.get(name, False) and len(values):
                    data.append(values.to_numpy())
                    where.append(position)
            if data:
                ax.boxplot(data, positions=where, widths=0.5, showfliers=True,
                           flierprops={"markersize": 2, "alpha": 0.5})
            paper_x, paper_y = [], []
            for position, name in zip(positions, configurations):
                value = cited.get((component, metric, paper_columns.get(name, "")))
                if value is not None:
                    paper_x.append(position + 0.33)
                    paper_y.append(value)
            if paper_x:
                ax.scatter(paper_x, paper_y, marker="D", s=22, color="tab:red", zorder=3,
                           label="paper (Table 2 mean)")
            ax.set_xticks(positions)
            ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
            ax.set_xlim(0.4, len(positions) + 0.8)
            ax.set_ylim(-0.04, 1.06)
            ax.grid(axis="y", alpha=0.3)
            ax.set_title(f"{COMPONENT_LABELS[component]} {metric}", fontsize=10)
            if col == 0:
                ax.set_ylabel(f"mean {metric}")
    handles, legend_labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, legend_labels, loc="lower center", ncol=1, fontsize=8, frameon=False)
    n_text = f" (N = {n_cases:,} test cases per sample)" if n_cases else ""
    fig.suptitle(f"Bootstrapped mean recall and precision{n_text}", fontsize=11)
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
