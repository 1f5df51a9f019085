"""Case-level code-set metrics, exactly as paper 000 defines them, and the choices the paper leaves open.

For each case c, with M_c the set of codes the model generated and P_c the set the coder billed:

    precision_c = |M_c ∩ P_c| / |M_c|        recall_c = |M_c ∩ P_c| / |P_c|
    Mean Precision = Σ_c precision_c / |C|    Mean Recall = Σ_c recall_c / |C|
    F1 = 2 · MeanPrecision · MeanRecall / (MeanPrecision + MeanRecall)     (from the two means, not a mean of F1s)
    Full Match % = share of cases with M_c == P_c

computed separately for ICD-10-CM, CPT and modifiers, over every case of the test set (C is the test set, not the
cases a model happened to answer).

Edge cases (the paper's formulas divide by zero there; these are this project's decisions):

- Empty prediction, non-empty gold (nothing parseable, no answer, or a missing prediction line): precision 0,
  recall 0. The paper scores unextractable codes as wrong; a model must not earn precision by saying nothing.
- Empty gold, non-empty prediction (e.g. modifiers on a claim that has none): precision 0, recall 0 — every code
  generated is wrong, and the case is not a match.
- Both empty (a claim with no modifiers, and the model wrote none): precision 1, recall 1, full match — but only
  when the model wrote a parseable claim (at least one ICD-10-CM code or CPT line could be read). Saying "no
  modifiers" is the right answer there; writing nothing at all is not: an output with no parseable claim scores 0 on
  every component, modifiers included (paper: codes that could not be extracted count as incorrect). In practice this arises only for modifiers (every claim has ICD-10-CM
  and CPT codes); the report states how many cases have no gold modifiers, since they pull a model that never writes
  modifiers up.
- Duplicates: the paper's M_c and P_c are sets, so a code generated twice counts once (a repetition loop that writes
  one code thirty times is one code). Order does not matter.
- F1 when both means are 0: 0.
- Modifiers are matched per CPT line, as (CPT, modifier) pairs pooled over the claim: RT on 66984 is a different
  code from RT on 67028, and a modifier on the wrong procedure is a billing error. The paper does not say which it
  used; the per-claim alternative (the set of modifiers anywhere on the claim, ignoring which line) is also computed
  as component ``modifier_set`` and reported beside, so a reader sees how much the choice moves the numbers.
  Providers are not part of any key (the paper scores codes, not who billed them), so the same CPT billed by the
  surgeon and by the assistant is one CPT code, while its modifiers (e.g. 80 on the assistant's line) still count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

# The paper's three claim components, then this project's per-claim modifier variant.
COMPONENTS = ("icd10", "cpt", "modifier")
ALL_COMPONENTS = (*COMPONENTS, "modifier_set")
COMPONENT_LABELS = {
    "icd10": "ICD-10-CM",
    "cpt": "CPT",
    "modifier": "Modifier",
    "modifier_set": "Modifier (per claim)",
}


def pair_key(cpt: str, modifier: str) -> str:
    """A (CPT, modifier) pair as one string, e.g. ``66984-RT``."""
    return f"{cpt}-{modifier}"


def component_sets(icd10: Iterable[str], cpt_lines: Iterable[tuple[str, Iterable[str]]]) -> dict[str, frozenset]:
    """The scored sets of one claim: ICD-10-CM codes, CPT codes, (CPT, modifier) pairs, modifiers."""
    lines = [(cpt, tuple(mods)) for cpt, mods in cpt_lines]
    return {
        "icd10": frozenset(icd10),
        "cpt": frozenset(cpt for cpt, _ in lines),
        "modifier": frozenset(pair_key(cpt, mod) for cpt, mods in lines for mod in mods),
        "modifier_set": frozenset(mod for _, mods in lines for mod in mods),
    }


def case_scores(predicted: Iterable[str], gold: Iterable[str], answered: bool = True) -> tuple[float, float, bool]:
    """(precision, recall, full match) of one case; see the module docstring for the empty-set rules.

    ``answered``: whether the model wrote a parseable claim at all; without one, empty-vs-empty is no match.
    """
    m, p = set(predicted), set(gold)
    if not m and not p:
        return (1.0, 1.0, True) if answered else (0.0, 0.0, False)
    if not m or not p:
        return 0.0, 0.0, False
    hits = len(m & p)
    return hits / len(m), hits / len(p), m == p


def f1_from_means(precision: float, recall: float) -> float:
    """The paper's F1: the harmonic mean of mean precision and mean recall (0 when both are 0)."""
    if not np.isfinite(precision) or not np.isfinite(recall):
        return float("nan")
    total = precision + recall
    return 0.0 if total == 0 else 2 * precision * recall / total


def has_parseable_claim(predicted: Mapping[str, frozenset]) -> bool:
    """Whether any ICD-10-CM code or CPT line could be read: the condition for empty-vs-empty to count as a match."""
    return bool(predicted["icd10"] or predicted["cpt"])


def score_case(predicted: Mapping[str, frozenset], gold: Mapping[str, frozenset]) -> dict[str, float | bool]:
    """Per-component precision, recall and full match of one case, as flat columns (``icd10_precision`` ...)."""
    answered = has_parseable_claim(predicted)
    row: dict[str, float | bool] = {"parseable_claim": answered}
    for component in ALL_COMPONENTS:
        precision, recall, full = case_scores(predicted[component], gold[component], answered)
        row[f"{component}_precision"] = precision
        row[f"{component}_recall"] = recall
        row[f"{component}_full_match"] = full
    return row


def summarize_codes(cases: pd.DataFrame, components: Iterable[str] = ALL_COMPONENTS) -> pd.DataFrame:
    """Mean precision, mean recall, F1 from the means and full-match share per component, over all rows of ``cases``.

    Returns one row per component: component, n_cases, precision, recall, f1, full_match (a share, 0..1),
    n_empty_gold (cases whose gold set is empty; see the module docstring).
    """
    rows = []
    for component in components:
        n = len(cases)
        precision = float(cases[f"{component}_precision"].mean()) if n else float("nan")
        recall = float(cases[f"{component}_recall"].mean()) if n else float("nan")
        gold_column = f"gold_{component}"
        rows.append(
            {
                "component": component,
                "n_cases": n,
                "precision": precision,
                "recall": recall,
                "f1": f1_from_means(precision, recall),
                "full_match": float(cases[f"{component}_full_match"].mean()) if n else float("nan"),
                "n_empty_gold": int(cases[gold_column].map(len).eq(0).sum()) if gold_column in cases else 0,
            }
        )
    return pd.DataFrame(rows)
