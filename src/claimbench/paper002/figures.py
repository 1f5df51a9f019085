"""Paper 002's figures from this run's tables, the paper's cited values beside them where it prints any.

- Figure 2: F1 by ICD-10-CM level (0-4) and CPT, one bar per configuration, the paper's stated values as markers
  (the paper prints Figure 2 as an image; only the values its text states are drawn).
- Figure 3a / Table 1: weighted mean F1 by clinical domain with weighted SD as error bars, this run's fine-tuned
  stand-in beside the paper's fine-tuned model.
- Figure 5: training frequency of each ICD-10-CM category against its evaluation F1, Spearman's rho in the title.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from claimbench.paper002.metrics import COMPONENTS  # noqa: E402
from claimbench.plan.paper002 import GROUNDED  # noqa: E402

SHORT_LABELS = {"icd10_l0": "L0\ncategory", "icd10_l1": "L1\nsubcategory", "icd10_l2": "L2\nfine-grained",
                "icd10_l3": "L3\nexact", "icd10_l4": "L4\nexact +\nevidence", "cpt": "CPT"}


def paper_values(name: str) -> pd.DataFrame:
    """A cited-values table of paper 002 (src/claimbench/data/paper002_<name>.csv; comment lines start with #)."""
    with resources.files("claimbench").joinpath(f"data/paper002_{name}.csv").open(encoding="utf-8") as handle:
        return pd.read_csv(handle, comment="#")


def paper_level_f1() -> dict[tuple[str, str], float]:
    """(component, model) -> the paper's stated F1 (model: fine-tuned / zero-shot)."""
    cited = paper_values("levels").dropna(subset=["f1"])
    out = {}
    for row in cited.itertuples():
        component = "cpt" if row.system == "cpt" else f"icd10_l{int(row.level)}"
        out[(component, row.model)] = float(row.f1)
    return out


def levels_figure(levels: pd.DataFrame, path: str | Path) -> Path:
    configurations = list(dict.fromkeys(levels.configuration))
    cited = paper_level_f1()
    x = np.arange(len(COMPONENTS))
    width = 0.8 / max(1, len(configurations))
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    for i, name in enumerate(configurations):
        rows = levels[levels.configuration == name].set_index("component").reindex(list(COMPONENTS))
        beyond = ", beyond the paper" if name == GROUNDED else ""
        ax.bar(x - 0.4 + width * (i + 0.5), rows.f1.to_numpy(dtype=float), width, label=f"{name} (this run{beyond})")
    for model, marker in (("fine-tuned", "D"), ("zero-shot", "x")):
        points = [(j, cited[(c, model)]) for j, c in enumerate(COMPONENTS) if (c, model) in cited]
        if points:
            ax.scatter(*zip(*points), marker=marker, color="black", zorder=3, label=f"paper, {model} (cited)")
    ax.set_xticks(x, [SHORT_LABELS[c] for c in COMPONENTS])
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.set_title("ICD-10-CM by hierarchy level, and CPT")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def domains_figure(domains: pd.DataFrame, path: str | Path, configuration: str = "fine-tuned") -> Path:
    cited = paper_values("domains")
    names = [d for d in cited.domain if d in set(domains.domain)]
    ours = domains[domains.configuration == configuration].set_index("domain").reindex(names)
    theirs = cited.set_index("domain").reindex(names)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8.5, 4.0))
    ax.bar(x - 0.2, ours.f1.to_numpy(dtype=float), 0.4, yerr=ours.f1_sd.to_numpy(dtype=float), capsize=3,
           label=f"{configuration} stand-in (this run)")
    ax.bar(x + 0.2, theirs.f1.to_numpy(dtype=float), 0.4, yerr=theirs.f1_sd.to_numpy(dtype=float), capsize=3,
           color="lightgrey", edgecolor="black", label="paper, fine-tuned Llama-3-70B (cited)")
    n_cases = [f"{name}\n(n = {int(n) if pd.notna(n) else 0})" for name, n in zip(names, ours.n_cases)]
    ax.set_xticks(x, n_cases, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("weighted mean F1 (± weighted SD)")
    ax.set_title("ICD-10-CM F1 by clinical domain (n = this run's cases)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def frequency_figure(frequency: pd.DataFrame, path: str | Path, configuration: str = "fine-tuned",
                     rho: float | None = None) -> Path:
    rows = frequency[frequency.configuration == configuration]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.scatter(rows.train_count, rows.f1, s=12 + 6 * rows.support, alpha=0.6)
    ax.set_xlabel("training charts with the category")
    ax.set_ylabel("evaluation F1 of the category")
    ax.set_ylim(-0.05, 1.05)
    title = f"ICD-10-CM categories, {configuration} stand-in"
    if rho is not None and not pd.isna(rho):
        title += f" (Spearman rho = {rho:.2f})"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
