"""Tables laid out as paper 003's, with the paper's numbers as cited reference rows beside this run's, and the
temperature-sweep figure."""

from __future__ import annotations

import math
from importlib import resources

import pandas as pd

from claimbench.querybench.metrics import METRICS
from claimbench.querybench.systems import SYSTEMS

SYSTEM_NAMES = {k: s.name for k, s in SYSTEMS.items()}
ERROR_METRICS = ("incorrect", "valid", "fabricated", "code_frequency", "matched_length", "matched_digits")
PAPER_SOURCE = "paper 003 (cited)"
RUN_SOURCE = "this run"


def paper_table(name: str) -> pd.DataFrame:
    """A cited-values file of paper 003: ``exact_match``, ``similarity`` or ``error_analysis``."""
    path = resources.files("claimbench").joinpath(f"data/paper003_{name}.csv")
    with resources.as_file(path) as file:
        return pd.read_csv(file, comment="#")


def _num(x: float, digits: int) -> str:
    return f"{x:.{digits}f}"


def fmt(value, low=None, high=None, digits: int = 1, unit: str = "") -> str:
    """ "26.6% (25.6–27.6%)" as the paper prints it; "—" for a missing value; no interval when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{_num(value, digits)}{unit}"
    if low is not None and high is not None and not (math.isnan(low) or math.isnan(high)):
        text += f" ({_num(low, digits)}–{_num(high, digits)}{unit})"
    return text


def run_label(model: str, mode: str) -> str:
    return f"{model} + trie" if mode == "trie" else model


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[summary["headline"].astype(bool)]


def _sizes(frame: pd.DataFrame) -> str:
    n = frame.drop_duplicates("system").set_index("system")["n"]
    return " / ".join(str(int(n[k])) if k in n else "—" for k in SYSTEM_NAMES)


def exact_match_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Exact match % (95% CI) by model × code system: the paper's rows, then this run's (headline temperature)."""
    rows = []
    paper = paper_table("exact_match")
    for model, part in paper.groupby("model", sort=False):
        cells = {SYSTEM_NAMES[r.system]: fmt(r.value, r.ci_low, r.ci_high, 1, "%") for r in part.itertuples()}
        rows.append({"Source": PAPER_SOURCE, "Model": model, **cells, "n (ICD-9 / ICD-10 / CPT)": "7697 / 15950 / 3673"})
    ours = headline(summary)
    ours = ours[ours["metric"] == "exact_match"]
    for (model, mode), part in ours.groupby(["model", "mode"], sort=False):
        cells = {SYSTEM_NAMES[r.system]: fmt(r.value, r.ci_low, r.ci_high, 1, "%") for r in part.itertuples()}
        rows.append({"Source": RUN_SOURCE, "Model": run_label(model, mode), **cells, "n (ICD-9 / ICD-10 / CPT)": _sizes(part)})
    return pd.DataFrame(rows)


def similarity_table(summary: pd.DataFrame) -> pd.DataFrame:
    """METEOR and BERTScore (95% CI) by model × code system, the paper's layout."""
    rows = []
    paper = paper_table("similarity")
    for model, part in paper.groupby("model", sort=False):
        row = {"Source": PAPER_SOURCE, "Model": model}
        for r in part.itertuples():
            row[f"{'METEOR' if r.metric == 'meteor' else 'BERTScore'} {SYSTEM_NAMES[r.system]}"] = fmt(
                r.value, r.ci_low, r.ci_high, 3)
        rows.append(row)
    ours = headline(summary)
    for (model, mode), part in ours.groupby(["model", "mode"], sort=False):
        row = {"Source": RUN_SOURCE, "Model": run_label(model, mode)}
        for metric, label in (("meteor", "METEOR"), ("bertscore", "BERTScore")):
            for r in part[part["metric"] == metric].itertuples():
                row[f"{label} {SYSTEM_NAMES[r.system]}"] = fmt(r.value, r.ci_low, r.ci_high, 3) + f" n={int(r.n)}"
        rows.append(row)
    columns = ["Source", "Model"] + [f"{m} {s}" for m in ("METEOR", "BERTScore") for s in SYSTEM_NAMES.values()]
    return pd.DataFrame(rows).reindex(columns=columns).fillna("—")


def _error_cell(metric: str, value, low, high, count=None, n=None) -> str:
    if metric == "incorrect":
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return f"{int(count):,} ({value:.1f}%)"
    if metric == "code_frequency":
        return fmt(value, low, high, 1)
    return fmt(value, low, high, 1, "%")


def error_analysis_table(summary: pd.DataFrame, system: str) -> pd.DataFrame:
    """The paper's error-analysis table for one code system: metrics as rows, models as columns (paper's first)."""
    labels = {
        "incorrect": "Incorrect codes, n (% of total)",
        "valid": "Valid code, % (95% CI)",
        "fabricated": "Fabricated code, % (95% CI)",
        "code_frequency": "Code frequency, mean (95% CI)",
        "matched_length": "Matched length, % (95% CI)",
        "matched_digits": "Matched digits, % (95% CI)",
    }
    table = pd.DataFrame({"Metric": [labels[m] for m in ERROR_METRICS]})
    paper = paper_table("error_analysis")
    paper = paper[paper["system"] == system]
    for model, part in paper.groupby("model", sort=False):
        by = part.set_index("metric")
        table[f"{model} [paper]"] = [
            _error_cell(m, by.at[m, "value"], by.at[m, "ci_low"], by.at[m, "ci_high"], by.at[m, "count"])
            for m in ERROR_METRICS
        ]
    ours = headline(summary)
    ours = ours[ours["system"] == system]
    for (model, mode), part in ours.groupby(["model", "mode"], sort=False):
        by = part.set_index("metric")
        table[f"{run_label(model, mode)} [this run]"] = [
            _error_cell(m, by.at[m, "value"], by.at[m, "ci_low"], by.at[m, "ci_high"], by.at[m, "count"], by.at[m, "n"])
            if m in by.index else "—"
            for m in ERROR_METRICS
        ]
    extras = []
    for metric, label in (("no_code", "No code in response, % (this project)"),
                          ("echoed_example", "Answer = the prompt's sample code, % (this project)")):
        extra = {"Metric": label}
        for (model, mode), part in ours.groupby(["model", "mode"], sort=False):
            by = part.set_index("metric")
            if metric in by.index:
                extra[f"{run_label(model, mode)} [this run]"] = fmt(by.at[metric, "value"], by.at[metric, "ci_low"],
                                                                     by.at[metric, "ci_high"], 1, "%")
        extras.append(extra)
    return pd.concat([table, pd.DataFrame(extras)], ignore_index=True).fillna("—")


def constrained_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Free vs trie-constrained decoding at the headline temperature: what the constraint does to each metric."""
    ours = headline(summary)
    metrics = ("exact_match", "valid", "fabricated", "matched_digits", "meteor", "bertscore")
    rows = []
    for (model, system), part in ours.groupby(["model", "system"], sort=False):
        modes = set(part["mode"])
        if "trie" not in modes:
            continue
        for mode in ("free", "trie"):
            by = part[part["mode"] == mode].set_index("metric")
            if by.empty:
                continue
            row = {"Model": model, "Code system": SYSTEM_NAMES[system], "Decoding": mode, "n": int(by.at["exact_match", "n"])}
            for m in metrics:
                digits = 3 if m in ("meteor", "bertscore") else 1
                unit = "" if digits == 3 else "%"
                row[METRICS[m][0]] = fmt(by.at[m, "value"], by.at[m, "ci_low"], by.at[m, "ci_high"], digits, unit) if m in by.index else "—"
            rows.append(row)
    return pd.DataFrame(rows)


def sweep_frame(scored: pd.DataFrame, sweep_codes: int | None) -> pd.DataFrame:
    """Per model × system × temperature, over the same codes at every temperature (the first ``sweep_codes`` items of
    each sample): exact match %, valid %, fabricated %, mean code frequency, with n. Free decoding only."""
    from claimbench.querybench.metrics import summarize

    free = scored[scored["mode"] == "free"]
    if sweep_codes is not None:
        free = free[free["item"] < int(sweep_codes)]
    rows = []
    free = free.assign(temperature=free["temperature"].astype(float).round(4))
    for (model, system, temperature), part in free.groupby(["model", "system", "temperature"], sort=True):
        s = summarize(part.drop(columns=[c for c in ("meteor", "bertscore") if c in part])).set_index("metric")
        row = {"model": model, "system": system, "temperature": float(temperature), "n": len(part)}
        for m in ("exact_match", "valid", "fabricated", "code_frequency"):
            row[m] = s.at[m, "value"]
            row[f"{m}_low"] = s.at[m, "ci_low"]
            row[f"{m}_high"] = s.at[m, "ci_high"]
        rows.append(row)
    return pd.DataFrame(rows)


def sweep_figure(sweep: pd.DataFrame, path) -> None:
    """Exact match % and fabricated % against temperature, one panel per code system, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(11, 6), sharex=True, sharey="row", squeeze=False)
    for col, (key, name) in enumerate(SYSTEM_NAMES.items()):
        part = sweep[sweep["system"] == key]
        for row, (metric, label) in enumerate((("exact_match", "Exact match, %"), ("fabricated", "Fabricated code, %"))):
            ax = axes[row][col]
            models = list(dict.fromkeys(sweep["model"]))
            for model, line in part.groupby("model", sort=False):
                line = line.sort_values("temperature")
                dodge = 0.025 * (models.index(model) - (len(models) - 1) / 2)  # overlapping models stay visible
                ax.errorbar(line["temperature"] + dodge, line[metric],
                            yerr=[line[metric] - line[f"{metric}_low"], line[f"{metric}_high"] - line[metric]],
                            marker="o", capsize=3, label=model)
            ax.set_ylim(-2, 102)
            if row == 0:
                ax.set_title(name)
            if row == 1:
                ax.set_xlabel("temperature")
            if col == 0:
                ax.set_ylabel(label)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    n = int(sweep["n"].max()) if len(sweep) else 0
    fig.suptitle(f"Temperature sweep (free decoding, the same ≤{n} codes per system at each temperature; 95% Wilson CIs)")
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    fig.savefig(path, dpi=120)
    plt.close(fig)
