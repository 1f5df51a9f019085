"""The report's first section: this run's F1 with its bootstrap 95% interval beside paper 000's, and whether the
paper's ordering holds here.

Paper 000 (Table 2) finds (a) base < RAG < fine-tuned on every component, (b) CPT easier than ICD-10-CM and
(c) modifiers hardest. Each is answered yes / no / not separable from the bootstrap (``bootstrap.py``: F1 from each
resample's mean precision and recall, the same resampled cases for every configuration and component):

- "a < b" is **yes** when the paired 95% interval of F1(b) - F1(a) lies wholly above zero, **no** when it lies
  wholly below, else **not separable** (``paired.py``: the difference per bootstrap replicate, both sides resampled
  with the same cases). A finding made of several such comparisons is yes when all are yes, no when any is no, else
  not separable; **not tested** when a configuration it needs did not run.
- The paper's view is kept beside it (``verdict_nonoverlap``): yes when a's own 95% interval lies wholly below b's
  (a.upper < b.lower), no when wholly above, else not separable. Non-overlap asks more than a paired difference
  does (two configurations whose intervals overlap can still differ on every case in the same direction), so it
  usually says "not separable" where the paired test separates (the paper's 1,000 resamples of about 39,000 cases
  made the distinction moot there; the small test sets here make it matter).
- (a) is judged per component over the paper's rows only (configurations with a paper column): every base below
  every rag below every fine-tuned configuration (method qlora or another fine-tuning method). Extras (knn,
  constrained decoding, ...) are shown in the table but are not part of the paper's ordering.
- (b) and (c) compare components within each of the paper's fine-tuned rows (where the paper states them: its base
  model has ICD-10-CM F1 0.36 above CPT 0.22), then combine: (b) ICD-10-CM < CPT, (c) modifier < ICD-10-CM and
  modifier < CPT.

The paper's own cited values are put through the same comparisons as zero-width intervals, so the table also shows
that each finding is the paper's. ``paired_table`` writes every comparison (and the best fine-tuned configuration
against every configuration without fine-tuning) with its difference, both verdicts and McNemar's test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from claimbench.evaluation.metrics import COMPONENT_LABELS, COMPONENTS
from claimbench.evaluation.paired import (
    NO,
    NOT_SEPARABLE,
    NOT_TESTED,
    YES,
    Difference,
    f1_replicates,
    full_match,
    mcnemar,
    paired_difference,
    paired_verdict,
)
from claimbench.evaluation.tables import _text, paper_table2
from claimbench.plan.methods import FINETUNED_METHOD, GROUNDED_METHOD

Replicates = Mapping[tuple[str, str], np.ndarray]  # (configuration, component) -> F1 per bootstrap replicate
BEYOND_PAPER = "beyond the paper"
HEADLINE_COLUMNS = ["configuration", "method", "paper_column", "run", "component", "f1", "lower", "upper", "paper_f1"]
VERDICT_COLUMNS = ["finding", "statement", "scope", "verdict", "verdict_nonoverlap", "paper_verdict", "evidence"]


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


Side = tuple[str, str]  # (configuration, component)


def _difference(low: Interval, high: Interval, replicates: Replicates, low_side: Side, high_side: Side) -> Difference:
    return paired_difference(high.value - low.value, replicates.get(low_side), replicates.get(high_side))


def _finding(headline, replicates, finding, statement, scope, pairs, missing) -> dict:
    """One verdict row from (low, high) pairs of (configuration, component)."""
    if missing:
        return {"finding": finding, "statement": statement, "scope": scope, "verdict": NOT_TESTED,
                "verdict_nonoverlap": NOT_TESTED, "paper_verdict": "", "evidence": missing}
    paired, apart, cited, evidence = [], [], [], []
    for (low_name, low_component), (high_name, high_component) in pairs:
        # name what differs: configurations within a component (a), components within a configuration (b, c)
        within = low_name == high_name
        low, low_paper = _intervals(headline, low_name, low_component,
                                    COMPONENT_LABELS[low_component] if within else low_name)
        high, high_paper = _intervals(headline, high_name, high_component,
                                      COMPONENT_LABELS[high_component] if within else high_name)
        difference = _difference(low, high, replicates, (low_name, low_component), (high_name, high_component))
        paired.append(paired_verdict(difference))
        apart.append(compare(low, high))
        cited.append(compare(low_paper, high_paper))
        evidence.append(f"{low_name + ': ' if within else ''}{low} < {high}: difference {difference}: {paired[-1]}")
    return {"finding": finding, "statement": statement, "scope": scope, "verdict": combine(paired),
            "verdict_nonoverlap": combine(apart), "paper_verdict": combine(cited), "evidence": "; ".join(evidence)}


def _ordering_pairs(headline: pd.DataFrame) -> tuple[list[tuple], list[str]]:
    """The paper's findings as (finding, statement, scope, pairs, missing) and the paper rows left out (not run)."""
    groups = _groups(headline)
    ran = set(groups["ran"])
    absent = [role for role in ("base", "rag", "finetuned") if not any(n in ran for n in groups[role])]
    skipped = [n for role in ("base", "rag", "finetuned") for n in groups[role] if n not in ran]
    missing_a = f"no {', '.join(absent)} configuration of the paper ran" if absent else ""
    chain = [[n for n in groups[role] if n in ran] for role in ("base", "rag", "finetuned")]
    findings = []
    for component in COMPONENTS:
        pairs = [((low, component), (high, component))
                 for lower_group, higher_group in zip(chain, chain[1:]) for low in lower_group for high in higher_group]
        findings.append(("a", "base < RAG < fine-tuned", COMPONENT_LABELS[component], pairs, missing_a))
    finetuned = chain[2]
    scope = "within " + (", ".join(finetuned) if finetuned else "the fine-tuned rows")
    missing_ft = "" if finetuned else "no fine-tuned configuration of the paper ran"
    findings.append(("b", "CPT easier than ICD-10-CM", scope, [((n, "icd10"), (n, "cpt")) for n in finetuned],
                     missing_ft))
    findings.append(("c", "modifiers hardest", scope,
                     [((n, "modifier"), (n, other)) for n in finetuned for other in ("icd10", "cpt")], missing_ft))
    return findings, skipped


def ordering_verdicts(headline: pd.DataFrame, replicates: Replicates | None = None) -> pd.DataFrame:
    """The paper's three findings, (a) per component, (b) and (c) over its fine-tuned rows (module docstring).

    ``replicates``: ``paired.f1_replicates`` of the bootstrap; without it the paired verdict is not tested."""
    replicates = replicates or {}
    findings, skipped = _ordering_pairs(headline)
    rows = [_finding(headline, replicates, *finding) for finding in findings]
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
            "Holds here? (paired)": verdicts.verdict,
            "Intervals apart? (paper's view)": verdicts.verdict_nonoverlap.map(lambda v: _text(v) or "—"),
            "In the paper": verdicts.paper_verdict.map(lambda v: _text(v) or "—"),
            "Evidence (F1 [95% CI]; difference [paired 95% CI])": verdicts.evidence.map(_text),
        }
    )


def best_of_finetuned(headline: pd.DataFrame) -> tuple[str | None, list[str]]:
    """The fine-tuned configuration that ran (a paper row or an extra) with the highest mean of ICD-10-CM and CPT F1,
    and every other configuration that ran and is not fine-tuned (base, rag and the references without a language
    model, e.g. knn); (None, []) when no fine-tuned configuration ran."""
    ran, methods = _ran_methods(headline)
    finetuned = [n for n, m in methods.items() if m == FINETUNED_METHOD]
    if not finetuned:
        return None, []
    return _highest_mean_f1(ran, finetuned), [n for n, m in methods.items() if m != FINETUNED_METHOD]


def best_of_grounded(headline: pd.DataFrame) -> tuple[str | None, list[str]]:
    """The description-grounded configuration without a language model (method grounded) that ran with the highest
    mean of ICD-10-CM and CPT F1, and the retrieval references (method knn) that ran; (None, []) without both."""
    ran, methods = _ran_methods(headline)
    grounded = [n for n, m in methods.items() if m == GROUNDED_METHOD]
    references = [n for n, m in methods.items() if m == "knn"]
    if not grounded or not references:
        return None, []
    return _highest_mean_f1(ran, grounded), references


def _ran_methods(headline: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The headline rows of the configurations that ran, and each such configuration's method (lower case)."""
    ran = headline[(headline.configuration != "") & headline.run.map(_flag)]
    return ran, ran.drop_duplicates("configuration").set_index("configuration").method.str.lower()


def _highest_mean_f1(ran: pd.DataFrame, names: list[str]) -> str:
    """Of ``names``, the configuration with the highest mean of ICD-10-CM and CPT F1 (the first on a tie)."""
    f1 = ran.set_index(["configuration", "component"]).f1
    return max(names, key=lambda n: (f1.loc[(n, "icd10")] + f1.loc[(n, "cpt")]) / 2)


PAIRED_COLUMNS = ["finding", "configuration_low", "component_low", "configuration_high", "component_high", "f1_low",
                  "f1_high", "difference", "lower", "upper", "paired", "nonoverlap", "mcnemar_only_low",
                  "mcnemar_only_high", "mcnemar_p"]


def paired_table(headline: pd.DataFrame, replicates: Replicates, cases: Mapping[str, pd.DataFrame] | None = None
                 ) -> pd.DataFrame:
    """Every comparison of the verdict (findings a-c) and of the best fine-tuned configuration against every
    configuration without fine-tuning (finding "best"), one row per pair: both F1s, the difference high - low with
    its paired bootstrap 95% interval, the paired verdict, the non-overlap verdict, and (for two configurations on
    one component, given ``cases``) McNemar's test on per-case full match."""
    findings, _ = _ordering_pairs(headline)
    pairs = [(finding[0], pair) for finding in findings if not finding[4] for pair in finding[3]]
    best, others = best_of_finetuned(headline)
    pairs += [("best", ((other, c), (best, c))) for other in others for c in COMPONENTS]
    grounded, references = best_of_grounded(headline)
    pairs += [("grounded", ((other, c), (grounded, c))) for other in references for c in COMPONENTS]
    matches = {c: full_match(cases, c) for c in COMPONENTS} if cases else {}
    rows = []
    for finding, ((low_name, low_component), (high_name, high_component)) in pairs:
        low, _ = _intervals(headline, low_name, low_component, low_name)
        high, _ = _intervals(headline, high_name, high_component, high_name)
        difference = _difference(low, high, replicates, (low_name, low_component), (high_name, high_component))
        row = {"finding": finding, "configuration_low": low_name, "component_low": low_component,
               "configuration_high": high_name, "component_high": high_component, "f1_low": low.value,
               "f1_high": high.value, "difference": difference.value, "lower": difference.lower,
               "upper": difference.upper, "paired": paired_verdict(difference), "nonoverlap": compare(low, high)}
        outcome = matches.get(low_component, {})
        if low_component == high_component and low_name in outcome and high_name in outcome:
            test = mcnemar(outcome[low_name], outcome[high_name])
            row |= {"mcnemar_only_low": test.n_low, "mcnemar_only_high": test.n_high, "mcnemar_p": test.p_value}
        rows.append(row)
    counts = {"mcnemar_only_low": "Int64", "mcnemar_only_high": "Int64"}  # empty where McNemar does not apply
    return pd.DataFrame(rows, columns=PAIRED_COLUMNS).astype(counts)


_SIDE = {YES: "above", NO: "below", NOT_SEPARABLE: "not separable", NOT_TESTED: NOT_TESTED}
_APART = {YES: "apart", NO: "apart", NOT_SEPARABLE: "overlap", NOT_TESTED: NOT_TESTED}


def best_against(paired: pd.DataFrame, finding: str = "best") -> tuple[str | None, pd.DataFrame]:
    """The best configuration of a finding against the configurations it is held against (``paired_table``'s rows of
    ``finding``: "best", the best fine-tuned configuration against every configuration without fine-tuning;
    "grounded", the best description-grounded configuration against the retrieval references): per pair and
    component the F1 difference (best minus it) with its paired 95% interval, the paired verdict (above / below /
    not separable), whether the two F1 intervals are apart (the paper's view) and McNemar's test on full match.
    (None, empty) when no such configuration ran."""
    rows = paired[paired.finding == finding]
    if rows.empty:
        return None, pd.DataFrame()
    table = pd.DataFrame({
        "Compared with": rows.configuration_low,
        "Component": rows.component_low.map(COMPONENT_LABELS),
        "Difference [paired 95% CI]": [str(Difference(r.difference, r.lower, r.upper)) for r in rows.itertuples()],
        "Paired verdict": rows.paired.map(_SIDE),
        "F1 intervals (paper's view)": rows.nonoverlap.map(_APART),
        "Full match only best / only other": [
            f"{int(r.mcnemar_only_high)} / {int(r.mcnemar_only_low)}" if np.isfinite(r.mcnemar_p) else "—"
            for r in rows.itertuples()],
        "McNemar p": rows.mcnemar_p.map(lambda p: f"{p:.3f}" if np.isfinite(p) else "—"),
    })
    return str(rows.configuration_high.iloc[0]), table


def write(
    metrics_path: str, intervals_path: str, configurations_path: str, out: Mapping[str, str],
    replicates_path: str | None = None, case_paths: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """headline_f1.csv, ordering_verdict.csv and (with ``out["paired"]``) paired_comparisons.csv from the evaluation
    stage's metrics, bootstrap intervals and replicates, configurations and per-case files."""
    metrics = pd.read_csv(metrics_path)
    intervals = pd.read_csv(intervals_path)
    configurations = pd.read_csv(configurations_path, keep_default_na=False)
    replicates = f1_replicates(pd.read_parquet(replicates_path)) if replicates_path else {}
    headline = headline_f1(metrics, intervals, configurations)
    verdicts = ordering_verdicts(headline, replicates)
    headline.to_csv(out["headline"], index=False)
    verdicts.to_csv(out["verdicts"], index=False)
    if "paired" in out:
        ran = set(headline.configuration[headline.run.map(_flag)])
        cases = {name: pd.read_parquet(path) for name, path in (case_paths or {}).items() if name in ran}
        paired_table(headline, replicates, cases).to_csv(out["paired"], index=False)
    return headline, verdicts
