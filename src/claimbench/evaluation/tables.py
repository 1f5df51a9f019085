"""The evaluation's tables: this run's metrics beside paper 000's cited values (Table 2, training statistics), plus the
per-service breakdown and format statistics that the paper does not give.

Numbers stay numbers in the CSV files (shares 0..1, ROUGE F 0..1); ``*_display`` functions format them the way the
paper prints them (percentages with one decimal, ROUGE x 100, two decimals otherwise) for the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.resources import files

import numpy as np
import pandas as pd

from claimbench.evaluation.metrics import ALL_COMPONENTS, COMPONENT_LABELS, COMPONENTS, summarize_codes
from claimbench.evaluation.validity import summarize_validity

# Paper Table 2, row by row: (component, metric).
TABLE2_ROWS = (
    *[("icd10", m) for m in ("full_match", "valid", "fabricated", "recall", "precision", "f1")],
    *[("cpt", m) for m in ("full_match", "valid", "fabricated", "recall", "precision", "f1")],
    *[("modifier", m) for m in ("full_match", "recall", "precision", "f1")],
    *[("structure", m) for m in ("rougeL", "rougeLsum", "meteor")],
)
METRIC_LABELS = {
    "full_match": "Full Match %",
    "valid": "Valid %",
    "fabricated": "Fabricated %",
    "recall": "Recall",
    "precision": "Precision",
    "f1": "F1",
    "rougeL": "ROUGE L",
    "rougeLsum": "ROUGE L Sum",
    "meteor": "METEOR Score",
}
LABELS = {**COMPONENT_LABELS, "structure": "Structure"}
# How the paper prints each metric: shares as percentages, ROUGE as F x 100, the rest as fractions.
UNITS = {"full_match": "percent", "valid": "percent", "fabricated": "percent", "rougeL": "rouge100",
         "rougeLsum": "rouge100"}
STRUCTURE_METRICS = ("rougeL", "rougeLsum", "meteor")
NOT_RUN = "not run"


def paper_table2() -> pd.DataFrame:
    """Paper 000's Table 2 as cited: component, metric, column, value (as printed), unit."""
    return pd.read_csv(files("claimbench.data") / "paper000_table2.csv", comment="#")


def paper_training() -> pd.DataFrame:
    """Paper 000's fine-tuning statistics as cited: column, model, hours, trainable_params, total_params, share."""
    return pd.read_csv(files("claimbench.data") / "paper000_training.csv", comment="#")


def to_paper_units(metric: str, value: float) -> float:
    """A share (0..1) or ROUGE F (0..1) in the unit the paper prints it in."""
    return value * 100 if UNITS.get(metric) in ("percent", "rouge100") else value


def format_paper_units(metric: str, value: float) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    unit = UNITS.get(metric)
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "rouge100":
        return f"{value:.1f}"
    return f"{value:.2f}"


def configuration_metrics(cases: pd.DataFrame) -> pd.DataFrame:
    """All summary metrics of one configuration's per-case frame, long: component, metric, value (natural units)."""
    rows = []
    codes = summarize_codes(cases, ALL_COMPONENTS)
    for record in codes.to_dict("records"):
        for metric in ("precision", "recall", "f1", "full_match", "n_cases", "n_empty_gold"):
            rows.append((record["component"], metric, float(record[metric])))
    for record in summarize_validity(cases).to_dict("records"):
        for metric in ("valid", "fabricated", "n_generated", "n_valid"):
            rows.append((record["component"], metric, float(record[metric])))
    n = len(cases)
    for metric in STRUCTURE_METRICS:
        rows.append(("structure", metric, float(cases[metric].mean()) if n and metric in cases else float("nan")))
    for metric, column in (
        ("missing_prediction", "missing_prediction"),
        ("icd_section", "has_icd_section"),
        ("cpt_section", "has_cpt_section"),
    ):
        rows.append(("format", metric, float(cases[column].mean()) if n else float("nan")))
    rows.append(("format", "n_cases", float(n)))
    return pd.DataFrame(rows, columns=["component", "metric", "value"])


def all_metrics(cases: Mapping[str, pd.DataFrame], run: Mapping[str, bool]) -> pd.DataFrame:
    """configuration, component, metric, value for every configuration that ran (others have no rows)."""
    frames = [
        configuration_metrics(frame).assign(configuration=name)
        for name, frame in cases.items()
        if run.get(name, True)
    ]
    columns = ["configuration", "component", "metric", "value"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def table2(
    metrics: pd.DataFrame,
    configurations: Sequence[str],
    paper_columns: Mapping[str, str],
    run: Mapping[str, bool],
    paper: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Paper Table 2's rows for every configuration, this run's value beside the paper's, both in the paper's units.

    Long: component, metric, configuration, paper_column, run, value, paper_value. Configurations without a paper
    counterpart have no paper_value; paper columns no configuration stands in for are kept with configuration "".
    """
    paper = paper_table2() if paper is None else paper
    cited = {(r.component, r.metric, r.column): float(r.value) for r in paper.itertuples()}
    ours = {(r.configuration, r.component, r.metric): float(r.value) for r in metrics.itertuples()}
    columns = [(name, paper_columns.get(name, "")) for name in configurations]
    mapped = {column for _, column in columns}
    columns += [("", column) for column in dict.fromkeys(paper["column"]) if column not in mapped]
    rows = []
    for component, metric in TABLE2_ROWS:
        for name, column in columns:
            value = ours.get((name, component, metric), float("nan")) if name else float("nan")
            rows.append(
                {
                    "component": component,
                    "metric": metric,
                    "configuration": name,
                    "paper_column": column,
                    "run": bool(run.get(name, False)) if name else False,
                    "value": to_paper_units(metric, value),
                    "paper_value": cited.get((component, metric, column), float("nan")),
                }
            )
    return pd.DataFrame(rows)


def _text(value) -> str:
    """A label read back from CSV: empty for NaN/None (pandas reads an empty cell as NaN)."""
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def column_header(configuration: str, paper_column: str) -> str:
    """A Table 2 column: a configuration with its paper column, a paper column alone, or an extra (knn, the
    grammar-constrained configurations ...) labelled as beyond the paper."""
    if not configuration:
        return f"{paper_column} (paper only)"
    return f"{configuration} [{paper_column}]" if paper_column else f"{configuration} (beyond the paper)"


def table2_display(table: pd.DataFrame) -> pd.DataFrame:
    """Paper layout: rows component x metric, one column per configuration, cells "this run [paper]"."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for r in table.itertuples():
        key = (LABELS[r.component], METRIC_LABELS[r.metric])
        name, column = _text(r.configuration), _text(r.paper_column)
        ran = str(r.run).lower() in ("true", "1")
        paper_cell = format_paper_units(r.metric, _number(r.paper_value))
        if not name:
            cell = f"[{paper_cell}]"
        else:
            ours = format_paper_units(r.metric, _number(r.value)) if ran else NOT_RUN
            cell = f"{ours} [{paper_cell}]" if column else ours
        out.setdefault(key, {})[column_header(name, column)] = cell
    frame = pd.DataFrame.from_dict(out, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["Claim Component", "Metric"])
    frame = frame.reset_index()
    # the component label only on its first row, as the paper prints it
    frame["Claim Component"] = frame["Claim Component"].where(~frame["Claim Component"].duplicated(), "")
    return frame


def validity_display(metrics: pd.DataFrame, configurations: Sequence[str], run: Mapping[str, bool]) -> pd.DataFrame:
    """Per configuration and code system: generated codes, valid %, fabricated % (modifiers beyond the paper)."""
    rows = []
    for name in configurations:
        for component in ("icd10", "cpt", "modifier"):
            if not run.get(name, False):
                rows.append({"Configuration": name, "Codes": LABELS[component], "Generated": NOT_RUN,
                             "Valid %": "", "Fabricated %": ""})
                continue
            got = metrics[(metrics.configuration == name) & (metrics.component == component)]
            value = dict(zip(got.metric, got.value))
            rows.append(
                {
                    "Configuration": name,
                    "Codes": LABELS[component],
                    "Generated": f"{int(value.get('n_generated', 0)):,}",
                    "Valid %": format_paper_units("valid", 100 * value.get("valid", float("nan"))),
                    "Fabricated %": format_paper_units("fabricated", 100 * value.get("fabricated", float("nan"))),
                }
            )
    return pd.DataFrame(rows)


def per_service(cases: Mapping[str, pd.DataFrame], run: Mapping[str, bool]) -> pd.DataFrame:
    """Beyond the paper: configuration, service, component, n_cases, precision, recall, f1, full_match."""
    frames = []
    for name, frame in cases.items():
        if not run.get(name, True) or frame.empty:
            continue
        for service, group in frame.groupby("service", sort=True):
            summary = summarize_codes(group, ALL_COMPONENTS)
            frames.append(summary.assign(configuration=name, service=service))
    columns = ["configuration", "service", "component", "n_cases", "precision", "recall", "f1", "full_match"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def per_service_display(table: pd.DataFrame, configurations: Sequence[str]) -> pd.DataFrame:
    """Rows: service (cases); columns: configurations; cells: F1 of ICD-10-CM / CPT / modifiers."""
    if table.empty:
        return pd.DataFrame(columns=["Service (test cases)", *configurations])
    f1 = table.pivot_table(index=["service", "configuration"], columns="component", values="f1", aggfunc="first")
    n = table.groupby("service")["n_cases"].first()
    rows = []
    for service in sorted(n.index, key=lambda s: (-n[s], s)):
        row = {"Service (test cases)": f"{service} ({int(n[service])})"}
        for name in configurations:
            if (service, name) in f1.index:
                values = f1.loc[(service, name)]
                row[name] = " / ".join(f"{values[c]:.2f}" for c in COMPONENTS)
            else:
                row[name] = NOT_RUN
        rows.append(row)
    return pd.DataFrame(rows)


def training_stats(
    stats: Mapping[str, dict],
    metas: Mapping[str, dict],
    paper_columns: Mapping[str, str],
    paper: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per fine-tuned configuration: this run's time and trainable parameters beside the paper's.

    ``stats``: configuration -> train_stats.json (wall_seconds, trainable_params, total_params, trainable_share, and
    optionally trainable_params_paper_convention: the count that includes embeddings and norms, which is how the
    paper's 201,612,288 and 389,784,576 come out for Phi-3).
    Paper rows whose configuration is not in ``stats`` are kept, with this run's side empty.
    """
    paper = paper_training() if paper is None else paper
    by_column = {r.column: r for r in paper.itertuples()}
    rows, seen = [], set()
    for name, record in stats.items():
        meta = metas.get(name, {})
        column = paper_columns.get(name, "")
        cited = by_column.get(column)
        seen.add(column)
        total = record.get("total_params")
        trainable = record.get("trainable_params")
        share = record.get("trainable_share")
        if share is None and trainable is not None and total:
            share = trainable / total
        paper_count = record.get("trainable_params_paper_convention")
        rows.append(
            {
                "configuration": name,
                "model": meta.get("model") or record.get("model", ""),
                "stands_in_for": meta.get("stands_in_for") or record.get("stands_in_for", ""),
                "hours": _number(record.get("wall_seconds")) / 3600,
                "trainable_params": trainable,
                "total_params": total,
                "trainable_share": share,
                # LoRA + input embeddings + norms: the count paper 000's figures match (see models.finetune)
                "trainable_params_paper_convention": paper_count,
                "trainable_share_paper_convention": paper_count / total if paper_count is not None and total else None,
                "paper_column": column,
                "paper_model": getattr(cited, "model", ""),
                "paper_hours": getattr(cited, "hours", float("nan")),
                "paper_trainable_params": getattr(cited, "trainable_params", None),
                "paper_total_params": getattr(cited, "total_params", None),
                "paper_trainable_share": getattr(cited, "trainable_share_percent", float("nan")) / 100,
            }
        )
    for column, cited in by_column.items():
        if column not in seen:
            rows.append(
                {"configuration": "", "paper_column": column, "paper_model": cited.model, "paper_hours": cited.hours,
                 "paper_trainable_params": cited.trainable_params, "paper_total_params": cited.total_params,
                 "paper_trainable_share": cited.trainable_share_percent / 100}
            )
    return pd.DataFrame(rows)


def _count(value: float) -> str:
    return f"{int(value):,}" if np.isfinite(value) else "—"


def _hours(value: float) -> str:
    if not np.isfinite(value):
        return "—"
    return f"{value:.1f} h" if value >= 1 else f"{value * 60:.1f} min"


def training_display(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for r in table.to_dict("records"):
        share, paper_share = _number(r.get("trainable_share")), _number(r.get("paper_trainable_share"))
        convention = _number(r.get("trainable_params_paper_convention"))
        convention_share = _number(r.get("trainable_share_paper_convention"))
        rows.append(
            {
                "Configuration": _text(r.get("configuration")) or "(none configured)",
                "Model (this run)": _text(r.get("model")) or "—",
                "Training time": _hours(_number(r.get("hours"))),
                "Trainable params": _count(_number(r.get("trainable_params"))),
                "Share": f"{100 * share:.1f}%" if np.isfinite(share) else "—",
                "Counted as the paper": _count(convention)
                + (f" ({100 * convention_share:.1f}%)" if np.isfinite(convention_share) else ""),
                "Paper": _text(r.get("paper_column")) or "—",
                "Paper model": _text(r.get("paper_model")) or "—",
                "Paper time": _hours(_number(r.get("paper_hours"))),
                "Paper trainable params": _count(_number(r.get("paper_trainable_params"))),
                "Paper share": f"{100 * paper_share:g}%" if np.isfinite(paper_share) else "—",  # as printed: 5%, 2.7%
            }
        )
    return pd.DataFrame(rows)
