"""The cohort stage of paper 000: Table 1 (who was operated on), Figure 1 (note lengths), Figure 2 (code counts)."""

from __future__ import annotations

from collections import Counter

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _n_pct(count: int, total: int) -> str:
    return f"{count} ({100 * count / total:.1f})" if total else "0 (0.0)"


def table1(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows (characteristic, level, value) laid out as the paper's Table 1; percentages to one decimal."""
    total = len(frame)
    rows = [("Total Encounters", "", str(total))]
    age = frame["patient_age"].astype(float)
    rows.append(("Patient Age, mean (SD)", "", f"{age.mean():.1f} ({age.std(ddof=1):.1f})" if total > 1 else "n/a"))
    for sex, count in frame["patient_sex"].value_counts().sort_index().items():
        rows.append(("Sex, n (%)", sex, _n_pct(int(count), total)))
    years = frame["surgery_date"].str.slice(0, 4)
    for year, count in years.value_counts().sort_index().items():
        rows.append(("Year of Surgery, n (%)", year, _n_pct(int(count), total)))
    for service, count in frame["service"].value_counts().sort_index().items():
        rows.append(("Service, n (%)", service, _n_pct(int(count), total)))
    return pd.DataFrame(rows, columns=["characteristic", "level", "value"])


def token_lengths(notes: list[str], tokenizer, batch_size: int = 1024) -> np.ndarray:
    """Number of tokens in each note with the given (fast) tokenizer, without special tokens."""
    lengths = []
    for start in range(0, len(notes), batch_size):
        encoded = tokenizer(notes[start : start + batch_size], add_special_tokens=False)["input_ids"]
        lengths.extend(len(ids) for ids in encoded)
    return np.asarray(lengths, dtype=np.int64)


def length_summary(lengths: np.ndarray) -> dict:
    q = np.percentile(lengths, [25, 50, 75]) if len(lengths) else [0, 0, 0]
    return {
        "n": int(len(lengths)),
        "mean": float(lengths.mean()) if len(lengths) else 0.0,
        "sd": float(lengths.std(ddof=1)) if len(lengths) > 1 else 0.0,
        "min": int(lengths.min()) if len(lengths) else 0,
        "q1": float(q[0]),
        "median": float(q[1]),
        "q3": float(q[2]),
        "max": int(lengths.max()) if len(lengths) else 0,
    }


def figure1(lengths: np.ndarray, tokenizer_name: str, path) -> None:
    """Histogram of note token lengths, dashed line at the mean, summary statistics in a box (paper Figure 1)."""
    stats = length_summary(lengths)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(lengths, bins=50, color="#4C72B0", edgecolor="white")
    ax.axvline(stats["mean"], color="black", linestyle="--", linewidth=1.2, label=f"mean = {stats['mean']:.0f}")
    ax.set_xlabel(f"Operative note length (tokens, {tokenizer_name} tokenizer)")
    ax.set_ylabel("Encounters")
    text = "\n".join(f"{k}: {v:,.0f}" if isinstance(v, (int, float)) else f"{k}: {v}" for k, v in stats.items())
    ax.text(0.98, 0.95, text, transform=ax.transAxes, ha="right", va="top", fontsize=8,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8})
    ax.legend(loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def code_counts(frame: pd.DataFrame) -> tuple[Counter, Counter]:
    """How many cases each ICD-10-CM code and each CPT code appears in (a code counts once per case).

    Codes are counted in order of first appearance (dict.fromkeys, not a set, whose order follows Python's per-process
    string hashing), so that ``most_common`` breaks ties the same way in every run."""
    icd = Counter(code for codes in frame["icd10"] for code in dict.fromkeys(codes))
    cpt = Counter(code for lines in frame["cpt_lines"] for code in dict.fromkeys(line["cpt"] for line in lines))
    return icd, cpt


def codes_per_case(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "icd10": [len(set(codes)) for codes in frame["icd10"]],
        "cpt": [len({line["cpt"] for line in lines}) for lines in frame["cpt_lines"]],
    })


def figure2(frame: pd.DataFrame, path, top: int = 20) -> None:
    """Counts of ICD-10 and CPT codes across cases (paper Figure 2): top codes, and codes per case."""
    icd, cpt = code_counts(frame)
    per_case = codes_per_case(frame)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    for column, (label, counts, color) in enumerate((("ICD-10-CM", icd, "#4C72B0"), ("CPT", cpt, "#DD8452"))):
        common = counts.most_common(top)
        ax = axes[0, column]
        ax.barh([c for c, _ in common][::-1], [n for _, n in common][::-1], color=color)
        ax.set_title(f"{label}: {len(counts)} distinct codes; top {min(top, len(common))} by cases")
        ax.set_xlabel("Cases")
        ax.tick_params(axis="y", labelsize=7)
        key = "icd10" if label == "ICD-10-CM" else "cpt"
        values = per_case[key].value_counts().sort_index()
        axes[1, column].bar(values.index.astype(str), values.to_numpy(), color=color)
        axes[1, column].set_title(f"{label} codes per case")
        axes[1, column].set_xlabel("Distinct codes on the claim")
        axes[1, column].set_ylabel("Cases")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def table1_beside_paper(ours: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """This run's Table 1 and the paper's, row by row (a level only one side has shows a dash on the other)."""
    merged = paper.merge(ours, on=["characteristic", "level"], how="outer", suffixes=(" (paper 000, cited)", " (this run)"))
    order = {name: i for i, name in enumerate(dict.fromkeys([*paper.characteristic, *ours.characteristic]))}
    merged["_order"] = merged.characteristic.map(order)
    merged = merged.sort_values(["_order", "level"], kind="stable").drop(columns="_order")
    return merged.fillna("–")
