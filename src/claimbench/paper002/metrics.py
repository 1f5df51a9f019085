"""Paper 002's evaluation metrics on JSON claims with evidence (paper 002, Methods 2.0.7-2.0.8; Results).

A claim is plain data: ``{"icd10": [{"code", "rationale", "evidence": {"line", "text"}}], "cpt": [{"code",
"rationale"}]}``; a prediction that failed to parse is ``None``. Codes compare normalised (``hierarchy.normalize_code``:
stripped, uppercase, no dot), as sets: a code written twice counts once.

Per chart, ICD-10-CM at:

- Levels 0-3: precision and recall of the sets of codes mapped to the level (``hierarchy.levels``: category,
  subcategory, fine-grained, exact code).
- Level 4: exact code with its evidence. A predicted code counts at Level 4 when it is in the gold set (Level 3) AND
  the line of its evidence equals a gold evidence line of that code; with ``jaccard_threshold`` set, the Jaccard
  similarity of the two spans (below) must also reach it (default None: the line alone, as the paper's "evidence
  location"). A code the model wrote twice is judged on its first entry (listing one code at every line must not
  earn the match); a gold code with several evidence entries matches any of them. The denominators are Level 3's, so
  Level 4 never exceeds Level 3.
- Evidence localisation: for each code matched at Level 3, the Jaccard similarity |A ∩ B| / |A ∪ B| of the token
  sets of the predicted and gold evidence texts (the best over the code's gold entries); the summary is the mean over
  all matched codes of all charts. Tokens: the text lowercased, split into runs of letters and digits (``[a-z0-9]+``;
  punctuation and whitespace separate tokens, so "K80.20," gives ``k80``, ``20``). Two empty texts count 1.0 (same
  span); one empty text 0.0. Gold evidence text is never empty (``read_gold`` rejects it).

CPT: precision and recall of the set of CPT codes of the note (exact match).

Per-chart precision/recall use ``evaluation.metrics.case_scores``, i.e. paper 000's edge rules: an empty or ``None``
prediction against non-empty gold scores 0/0; empty gold against a non-empty prediction 0/0; both empty 1/1 when the
model wrote a parseable claim (``None`` scores 0/0 on everything).

Aggregates (``summarize``): the headline is paper 000's convention, used across this project and matching paper 002's
"aggregated at the chart level" (Table 3): mean over charts of precision and of recall, and F1 from those two means
(``evaluation.metrics.f1_from_means``). Micro precision/recall/F1 (Σ true positives / Σ predicted, / Σ gold, over all
charts) are reported beside.

Per-code scores (Table 1, Figures 3 and 5) count charts: for code c, TP = charts whose gold and prediction both have
c, FP = prediction only, FN = gold only; support = charts whose gold has c. Precision TP/(TP+FP), recall TP/(TP+FN),
F1 2TP/(2TP+FP+FN); a ratio with a zero denominator is 0.0 (a code never predicted has precision 0).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from claimbench.codesets import add_dot
from claimbench.evaluation.breakdowns import per_code_scores  # noqa: F401 (shared with paper 000's breakdowns)
from claimbench.evaluation.metrics import case_scores
from claimbench.paper002.hierarchy import LEVELS, levels, normalize_code

ICD10_COMPONENTS = tuple(f"icd10_l{number}" for number in (*LEVELS, 4))
COMPONENTS = (*ICD10_COMPONENTS, "cpt")
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Evidence:
    line: int | None  # None: missing or not an integer (never matches a gold line)
    text: str


@dataclass
class ChartCodes:
    """One claim read for scoring: ICD-10-CM code -> its evidence entries (in order), CPT codes."""

    icd10: dict[str, list[Evidence]] = field(default_factory=dict)
    cpt: set[str] = field(default_factory=set)


def tokens(text: str) -> frozenset[str]:
    """The token set of an evidence span (see the module docstring)."""
    return frozenset(_TOKEN.findall(text.lower())) if isinstance(text, str) else frozenset()


def jaccard(predicted: str, gold: str) -> float:
    """Jaccard similarity of the token sets of two evidence texts (1.0 for two empty texts)."""
    a, b = tokens(predicted), tokens(gold)
    return 1.0 if not a and not b else len(a & b) / len(a | b)


def _is_line(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_prediction(claim: object) -> ChartCodes:
    """A predicted claim for scoring, leniently: a malformed entry is read as far as it goes (no code: skipped; no
    usable evidence: line None, text ""), so it scores as wrong and never raises. ``None`` reads as empty."""
    out = ChartCodes()
    if not isinstance(claim, Mapping):
        return out
    icd10, cpt = claim.get("icd10"), claim.get("cpt")
    for entry in icd10 if isinstance(icd10, list) else ():
        code = normalize_code(entry.get("code")) if isinstance(entry, Mapping) else ""
        if not code:
            continue
        evidence = entry.get("evidence")
        evidence = evidence if isinstance(evidence, Mapping) else {}
        line = evidence.get("line")
        text = evidence.get("text")
        out.icd10.setdefault(code, []).append(
            Evidence(line if _is_line(line) else None, text if isinstance(text, str) else ""))
    for entry in cpt if isinstance(cpt, list) else ():
        code = normalize_code(entry.get("code")) if isinstance(entry, Mapping) else ""
        if code:
            out.cpt.add(code)
    return out


def read_gold(claim: object, chart: object) -> ChartCodes:
    """A gold claim for scoring, strictly: ValueError naming the chart, entry and field of the first defect."""
    where = f"gold chart {chart}"
    if not isinstance(claim, Mapping):
        raise ValueError(f"{where}: expected a claim mapping with 'icd10' and 'cpt', got {type(claim).__name__}")
    for system in ("icd10", "cpt"):
        if not isinstance(claim.get(system), list):
            raise ValueError(f"{where}: field '{system}': expected a list, got {claim.get(system)!r}")
    out = ChartCodes()
    for index, entry in enumerate(claim["icd10"]):
        field_ = f"{where}: icd10[{index}]"
        code = normalize_code(entry.get("code")) if isinstance(entry, Mapping) else ""
        if not code:
            raise ValueError(f"{field_}.code: missing or empty")
        evidence = entry.get("evidence")
        if not isinstance(evidence, Mapping):
            raise ValueError(f"{field_}.evidence: expected {{line, text}}, got {evidence!r}")
        if not _is_line(evidence.get("line")) or evidence["line"] < 0:
            raise ValueError(f"{field_}.evidence.line: expected a line index >= 0, got {evidence.get('line')!r}")
        if not isinstance(evidence.get("text"), str) or not evidence["text"].strip():
            raise ValueError(f"{field_}.evidence.text: expected the supporting text, got {evidence.get('text')!r}")
        out.icd10.setdefault(code, []).append(Evidence(evidence["line"], evidence["text"]))
    for index, entry in enumerate(claim["cpt"]):
        code = normalize_code(entry.get("code")) if isinstance(entry, Mapping) else ""
        if not code:
            raise ValueError(f"{where}: cpt[{index}].code: missing or empty")
        out.cpt.add(code)
    return out


def _evidence_matches(predicted: Evidence, gold: list[Evidence], threshold: float | None) -> bool:
    return any(
        predicted.line == entry.line and (threshold is None or jaccard(predicted.text, entry.text) >= threshold)
        for entry in gold
    )


def level_sets(codes: ChartCodes, level_number: int) -> frozenset[str]:
    """The chart's ICD-10-CM codes mapped to Level 0-3."""
    return frozenset(levels(code)[level_number] for code in codes.icd10)


def score_chart(gold: ChartCodes, predicted: ChartCodes, answered: bool,
                jaccard_threshold: float | None = None) -> dict[str, float | int | bool]:
    """Flat row for one chart: per component (``COMPONENTS``) precision, recall, full match (paper 000's names, for
    ``evaluation.metrics.summarize_codes``) and tp / n_pred / n_gold (for the micro average); evidence Jaccard sum and
    count over the Level-3 matches."""
    sets = {f"icd10_l{number}": (level_sets(predicted, number), level_sets(gold, number)) for number in LEVELS}
    # Level 4: a code whose evidence misses stays in the predicted set as a different item, so it counts against
    # precision exactly as at Level 3 but can no longer match.
    level4 = frozenset(
        code if code in gold.icd10 and _evidence_matches(entries[0], gold.icd10[code], jaccard_threshold)
        else (code, "evidence missed")
        for code, entries in predicted.icd10.items()
    )
    sets["icd10_l4"] = (level4, frozenset(gold.icd10))
    sets["cpt"] = (frozenset(predicted.cpt), frozenset(gold.cpt))
    row: dict[str, float | int | bool] = {"answered": answered}
    for component, (pred, true) in sets.items():
        precision, recall, full = case_scores(pred, true, answered)
        row |= {f"{component}_precision": precision, f"{component}_recall": recall, f"{component}_full_match": full,
                f"{component}_tp": len(pred & true), f"{component}_n_pred": len(pred), f"{component}_n_gold": len(true)}
    matched = [jaccard_best(entries[0], gold.icd10[code]) for code, entries in predicted.icd10.items()
               if code in gold.icd10]
    row |= {"evidence_matched": len(matched), "evidence_jaccard_sum": float(sum(matched))}
    return row


def jaccard_best(predicted: Evidence, gold: list[Evidence]) -> float:
    """Jaccard of a predicted span with the closest of a code's gold spans."""
    return max(jaccard(predicted.text, entry.text) for entry in gold)


def read_charts(golds: Sequence[Mapping], predictions: Sequence[Mapping | None], chart_ids: Sequence | None = None
                ) -> list[tuple[object, ChartCodes, ChartCodes, bool]]:
    """(chart id, gold, prediction, whether the prediction parsed, i.e. is a mapping) per chart. Gold and predictions
    align by position; chart ids default to positions and name the chart in gold errors."""
    if len(golds) != len(predictions):
        raise ValueError(f"{len(golds)} gold claims but {len(predictions)} predictions: they must align chart by chart")
    chart_ids = list(range(len(golds))) if chart_ids is None else list(chart_ids)
    if len(chart_ids) != len(golds):
        raise ValueError(f"{len(chart_ids)} chart ids for {len(golds)} charts")
    return [(chart, read_gold(gold, chart), read_prediction(pred), isinstance(pred, Mapping))
            for chart, gold, pred in zip(chart_ids, golds, predictions)]


def score_charts(golds: Sequence[Mapping], predictions: Sequence[Mapping | None], chart_ids: Sequence | None = None,
                 jaccard_threshold: float | None = None) -> pd.DataFrame:
    """One row per chart: ``chart`` and ``score_chart``'s columns."""
    if jaccard_threshold is not None and not 0 <= jaccard_threshold <= 1:
        raise ValueError(f"jaccard_threshold must lie in [0, 1] (or be None), not {jaccard_threshold!r}")
    rows = [{"chart": chart, **score_chart(gold, pred, answered, jaccard_threshold)}
            for chart, gold, pred, answered in read_charts(golds, predictions, chart_ids)]
    return pd.DataFrame(rows)


def micro(charts: pd.DataFrame, component: str) -> dict[str, float]:
    """Micro precision, recall and F1 of one component over the charts (NaN for a zero denominator)."""
    tp, n_pred, n_gold = (int(charts[f"{component}_{name}"].sum()) for name in ("tp", "n_pred", "n_gold"))
    precision = tp / n_pred if n_pred else float("nan")
    recall = tp / n_gold if n_gold else float("nan")
    f1 = 2 * tp / (n_pred + n_gold) if n_pred + n_gold else float("nan")
    return {"micro_precision": precision, "micro_recall": recall, "micro_f1": f1}


def mean_evidence_jaccard(charts: pd.DataFrame) -> tuple[float, int]:
    """(mean Jaccard over all Level-3 matched codes, how many codes): NaN when no code matched."""
    matched = int(charts["evidence_matched"].sum())
    return (float(charts["evidence_jaccard_sum"].sum()) / matched if matched else float("nan")), matched


def code_frequency(claims: Sequence[Mapping | None], level_number: int = 3) -> Counter:
    """Charts containing each ICD-10-CM code at a level (dataset diagnostics; training frequency for Figure 5).
    Read leniently (``None`` and malformed entries contribute nothing)."""
    counts: Counter = Counter()
    for claim in claims:
        counts.update(level_sets(read_prediction(claim), level_number))
    return counts


def per_code_icd10(golds: Sequence[Mapping], predictions: Sequence[Mapping | None], level_number: int = 3,
                   chart_ids: Sequence | None = None) -> pd.DataFrame:
    """``per_code_scores`` of ICD-10-CM codes mapped to Level 0-3 (Level 0: categories, for Figures 3b and 5)."""
    charts = read_charts(golds, predictions, chart_ids)
    return per_code_scores([level_sets(gold, level_number) for _, gold, _, _ in charts],
                           [level_sets(pred, level_number) for _, _, pred, _ in charts])


def validity_counts(predictions: Sequence[Mapping | None], icd10_valid: Callable[[str], bool] | None = None,
                    cpt_valid: Callable[[str], bool] | None = None) -> dict[str, int]:
    """Counts of malformed and fabricated output over the charts.

    ``invalid_outputs``: predictions that failed to parse (``None``); ``no_valid_predictions``: charts with no valid
    code at all (``None``, empty, or every code fabricated: the paper's "response quality"); ``icd10_codes`` /
    ``cpt_codes``: distinct codes generated, summed over charts; ``icd10_fabricated`` / ``cpt_fabricated``: those the
    validity function rejects (only when one is passed; else no key). ``icd10_valid`` receives the code dotted after
    the third character (``K80.20``, as ``codesets.icd10cm_codes`` holds them), ``cpt_valid`` the normalised CPT code.
    """
    counts = Counter(charts=len(predictions), invalid_outputs=0, no_valid_predictions=0, icd10_codes=0, cpt_codes=0)
    for pred in predictions:
        counts["invalid_outputs"] += pred is None
        codes = read_prediction(pred)
        valid = 0
        for system, generated, check in (("icd10", codes.icd10, icd10_valid), ("cpt", codes.cpt, cpt_valid)):
            counts[f"{system}_codes"] += len(generated)
            if check is None:
                valid += len(generated)
                continue
            fabricated = sum(not check(add_dot(code) if system == "icd10" else code) for code in generated)
            counts[f"{system}_fabricated"] += fabricated
            valid += len(generated) - fabricated
        counts["no_valid_predictions"] += valid == 0
    for system, check in (("icd10", icd10_valid), ("cpt", cpt_valid)):
        if check is not None:
            counts.setdefault(f"{system}_fabricated", 0)
    return dict(counts)
