"""The report's first section: this run's F1 with its bootstrap 95% interval beside paper 000's, and whether the
paper's ordering holds here.

Paper 000 (Table 2) finds (a) base < RAG < fine-tuned on every component, (b) CPT easier than ICD-10-CM and
(c) modifiers hardest. Each is answered yes / no / not separable from the 95% percentile intervals of the bootstrap
(``bootstrap.py``: F1 from each resample's mean precision and recall, the same resampled cases for every
configuration and component):

- "a < b" is **yes** when a's interval lies wholly below b's (a.upper < b.lower), **no** when it lies wholly above
  (b.upper < a.lower), else **not separable** (the intervals overlap or touch). A finding made of several such
  comparisons is yes when all are yes, no when any is no, else not separable; **not tested** when a configuration it
  needs did not run.
- (a) is judged per component over the paper's rows only (configurations with a paper column): every base below
  every rag below every fine-tuned configuration (method qlora or another fine-tuning method). Extras (knn,
  constrained decoding, ...) are shown in the table but are not part of the paper's ordering.
- (b) and (c) compare components within each of the paper's fine-tuned rows (where the paper states them: its base
  model has ICD-10-CM F1 0.36 above CPT 0.22), then combine: (b) ICD-10-CM < CPT, (c) modifier < ICD-10-CM and
  modifier < CPT.

Non-overlap of two 95% intervals is a conservative test (it asks more than a paired difference would), which suits a
claim that the paper's finding is reproduced. The paper's own cited values are put through the same comparisons
as zero-width intervals, so the table also shows that each finding is the paper's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from claimbench.evaluation.metrics import COMPONENT_LABELS, COMPONENTS
from claimbench.plan.methods import FINETUNED_METHOD
from claimbench.evaluation.tables import _text, paper_table2

YES, NO, NOT_SEPARABLE, NOT_TESTED = "yes", "no", "not separable", "not tested"
BEYOND_PAPER = "beyond the paper"
HEADLINE_COLUMNS = ["configuration", "method", "paper_column", "run", "component", "f1", "lower", "upper", "paper_f1"]
VERDICT_COLUMNS = ["finding", "statement", "scope", "verdict", "paper_verdict", "evidence"]


@dataclass(frozen=True)
class Interval:
    """A named estimate with its 95% interval (lower == upper == value for a cited paper value)."""

    name: str
    value: float
    lower: float
    upper: float

    def __str__(self) -> str:
        return f"{self.name} {_cell(self.value, self.lower, self.upper)}"


def compare(low: Interval, high: Interval) -> str:
    """Verdict on "low < high": yes / no / not separable (see the module docstring)."""
    if not all(np.isfinite(v) for v in (low.lower, low.upper, high.lower, high.upper)):
        return NOT_TESTED
    if low.upper < high.lower:
        return YES
    if high.upper < low.lower:
        return NO
    return NOT_SEPARABLE


def combine(verdicts: Iterable[str]) -> str:
    """All comparisons yes -> yes; any no -> no; any not tested (or none at all) -> not tested; else not separable."""
    verdicts = list(verdicts)
    if not verdicts or NOT_TESTED in verdicts:
        return NOT_TESTED
    if NO in verdicts:
        return NO
    return YES if all(v == YES for v in verdicts) else NOT_SEPARABLE


def headline_f1(
    metrics: pd.DataFrame, intervals: pd.DataFrame, configurations: pd.DataFrame, paper: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per configuration (config order) and component: this run's F1, its bootstrap 95% interval and the
    cited F1 of the paper column it stands in for; then paper columns no configuration stands in for.

    ``metrics``: metrics.csv (configuration, component, metric, value); ``intervals``: bootstrap_intervals.csv;
    ``configurations``: configurations.csv (configuration, run, method, paper_column, ...).
    """
    paper = paper_table2() if paper is None else paper
    cited = {(r.column, r.component): float(r.value) for r in paper[paper.metric == "f1"].itertuples()}
    f1 = metrics[metrics.metric == "f1"]
    ours = {(r.configuration, r.component): float(r.value) for r in f1.itertuples()}
    bounds = intervals[intervals.metric == "f1"]
    ci = {(r.configuration, r.component): (float(r.lower), float(r.upper)) for r in bounds.itertuples()}
    nan = float("nan")
    rows = []
    for r in configurations.itertuples():
        name, column = str(r.configuration), _text(r.paper_column)
        for component in COMPONENTS:
            lower, upper = ci.get((name, component), (nan, nan))
            rows.append((name, _text(r.method), column, _flag(r.run), component, ours.get((name, component), nan),
                         lower, upper, cited.get((column, component), nan)))
    mapped = set(configurations.paper_column.map(_text))
    for column in dict.fromkeys(paper.column):
        if column not in mapped:
            rows.extend(("", "", column, False, c, nan, nan, nan, cited.get((column, c), nan)) for c in COMPONENTS)
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


def _flag(value) -> bool:
    return str(value).strip().lower() in ("true", "1")


def _groups(headline: pd.DataFrame) -> dict[str, list[str]]:
    """The paper's rows of this run by role, in config order (configurations that did not run count as missing)."""
    rows = headline[(headline.configuration != "") & (headline.paper_column != "")].drop_duplicates("configuration")
    methods = rows.method.str.lower()
    return {
        "base": list(rows.configuration[methods == "base"]),
        "rag": list(rows.configuration[methods == "rag"]),
        "finetuned": list(rows.configuration[methods == FINETUNED_METHOD]),
        "ran": list(rows.configuration[rows.run]),
    }


def _intervals(headline: pd.DataFrame, name: str, component: str, label: str) -> tuple[Interval, Interval]:
    """(this run's interval, the paper's value as a zero-width interval) of one configuration and component."""
    row = headline[(headline.configuration == name) & (headline.component == component)].iloc[0]
    paper = float(row.paper_f1)
    return Interval(label, row.f1, row.lower, row.upper), Interval(label, paper, paper, paper)


def _finding(headline, finding, statement, scope, pairs, missing) -> dict:
    """One verdict row from (low, high) pairs of (configuration, component)."""
    if missing:
        return {"finding": finding, "statement": statement, "scope": scope, "verdict": NOT_TESTED,
                "paper_verdict": "", "evidence": missing}
    ours, cited, evidence = [], [], []
    for (low_name, low_component), (high_name, high_component) in pairs:
        # name what differs: configurations within a component (a), components within a configuration (b, c)
        within = low_name == high_name
        low, low_paper = _intervals(headline, low_name, low_component,
                                    COMPONENT_LABELS[low_component] if within else low_name)
        high, high_paper = _intervals(headline, high_name, high_component,
                                      COMPONENT_LABELS[high_component] if within else high_name)
        ours.append(compare(low, high))
        cited.append(compare(low_paper, high_paper))
        evidence.append(f"{low_name + ': ' if within else ''}{low} < {high}: {ours[-1]}")
    return {"finding": finding, "statement": statement, "scope": scope, "verdict": combine(ours),
            "paper_verdict": combine(cited), "evidence": "; ".join(evidence)}


def ordering_verdicts(headline: pd.DataFrame) -> pd.DataFrame:
    """The paper's three findings, (a) per component, (b) and (c) over its fine-tuned rows (module docstring)."""
    groups = _groups(headline)
    ran = set(groups["ran"])
    absent = [role for role in ("base", "rag", "finetuned") if not any(n in ran for n in groups[role])]
    skipped = [n for role in ("base", "rag", "finetuned") for n in groups[role] if n not in ran]
    missing_a = f"no {', '.join(absent)} configuration of the paper ran" if absent else ""
    chain = [[n for n in groups[role] if n in ran] for role in ("base", "rag", "finetuned")]
    rows = []
    for component in COMPONENTS:
        pairs = [((low, component), (high, component))
                 for lower_group, higher_group in zip(chain, chain[1:]) for low in lower_group for high in higher_group]
        rows.append(_finding(headline, "a", "base < RAG < fine-tuned", COMPONENT_LABELS[component], pairs, missing_a))
    finetuned = chain[2]
    scope = "within " + (", ".join(finetuned) if finetuned else "the fine-tuned rows")
    missing_ft = "" if finetuned else "no fine-tuned configuration of the paper ran"
    rows.append(_finding(headline, "b", "CPT easier than ICD-10-CM", scope,
                         [((n, "icd10"), (n, "cpt")) for n in finetuned], missing_ft))
    rows.append(_finding(headline, "c", "modifiers hardest", scope,
                         [((n, "modifier"), (n, other)) for n in finetuned for other in ("icd10", "cpt")], missing_ft))
    frame = pd.DataFrame(rows, columns=VERDICT_COLUMNS)
    if skipped:  # say which of the paper's rows were left out because they did not run (e.g. api)
        frame["evidence"] = frame["evidence"] + f" (not run, left out: {', '.join(skipped)})"
    return frame


def _cell(value: float, lower: float | None = None, upper: float | None = None) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    if lower is None or not np.isfinite(lower):
        return f"{value:.2f}"
    return f"{value:.2f} [{lower:.2f}, {upper:.2f}]"


def headline_display(headline: pd.DataFrame) -> pd.DataFrame:
    """Rows: configurations (then paper-only columns); per component this run's F1 [95% CI] and the paper's F1."""
    rows = []
    for (name, column), group in headline.groupby(["configuration", "paper_column"], sort=False):
        values = group.set_index("component")
        run = bool(values.run.iloc[0])
        row = {"Configuration": name or "—",
               "Paper column": column or BEYOND_PAPER}
        if not name:
            row["Paper column"] = f"{column} (paper only)"
        for component in COMPONENTS:
            v = values.loc[component]
            label = COMPONENT_LABELS[component]
            row[f"{label} F1 [95% CI]"] = _cell(v.f1, v.lower, v.upper) if run else ("not run" if name else "—")
            row[f"{label} paper"] = _cell(v.paper_f1) if column else "—"
        rows.append(row)
    return pd.DataFrame(rows)


def verdict_display(verdicts: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Paper's finding": [f"({r.finding}) {r.statement}" for r in verdicts.itertuples()],
            "Compared": verdicts.scope.map(_text),
            "Holds here?": verdicts.verdict,
            "In the paper": verdicts.paper_verdict.map(lambda v: _text(v) or "—"),
            "Evidence (F1 [95% CI])": verdicts.evidence.map(_text),
        }
    )


def best_finetuned(headline: pd.DataFrame) -> tuple[str | None, pd.DataFrame]:
    """Beyond the paper's findings: the fine-tuned configuration that ran (a paper row or an extra) with the highest
    mean of ICD-10-CM and CPT F1, against every other configuration that ran and is not fine-tuned (base, rag and
    the references without a language model, e.g. knn). One row per such configuration; per component the F1
    difference (best minus it) and whether the 95% intervals are apart. (None, empty) when no fine-tuned
    configuration ran."""
    ran = headline[(headline.configuration != "") & headline.run.map(_flag)]
    methods = ran.drop_duplicates("configuration").set_index("configuration").method.str.lower()
    finetuned = [n for n, m in methods.items() if m == FINETUNED_METHOD]
    others = [n for n, m in methods.items() if m != FINETUNED_METHOD]
    if not finetuned:
        return None, pd.DataFrame()
    f1 = ran.set_index(["configuration", "component"])
    best = max(finetuned, key=lambda n: (f1.loc[(n, "icd10"), "f1"] + f1.loc[(n, "cpt"), "f1"]) / 2)
    rows = []
    for other in others:
        row = {"Compared with": other}
        for component in COMPONENTS:
            b, o = f1.loc[(best, component)], f1.loc[(other, component)]
            verdict = compare(Interval(other, o.f1, o.lower, o.upper), Interval(best, b.f1, b.lower, b.upper))
            apart = {YES: "apart, above", NO: "apart, below", NOT_SEPARABLE: "overlap"}.get(verdict, verdict)
            row[COMPONENT_LABELS[component]] = f"{b.f1 - o.f1:+.2f} ({apart})"
        rows.append(row)
    return best, pd.DataFrame(rows)


def write(
    metrics_path: str, intervals_path: str, configurations_path: str, out: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """headline_f1.csv and ordering_verdict.csv from the evaluation stage's metrics, intervals and configurations."""
    metrics = pd.read_csv(metrics_path)
    intervals = pd.read_csv(intervals_path)
    configurations = pd.read_csv(configurations_path, keep_default_na=False)
    headline = headline_f1(metrics, intervals, configurations)
    verdicts = ordering_verdicts(headline)
    headline.to_csv(out["headline"], index=False)
    verdicts.to_csv(out["verdicts"], index=False)
    return headline, verdicts
