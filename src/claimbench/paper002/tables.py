"""Paper 002's result tables as DataFrames (Figure 2, Table 1, Figures 3b, 3c and 5); numbers stay numbers (0..1).

Inputs are ``metrics.score_charts`` (one row per chart) and ``metrics.per_code_icd10`` / ``per_code_scores`` (one row
per code: tp, fp, fn, support, precision, recall, f1). Which code level each table takes follows the paper: Table 1
and Figure 3c are computed on exact codes (Level 3: "first computed at the ICD-10 code level"), Figures 3b and 5 on
categories (Level 0: "category-level codes").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from claimbench.evaluation.breakdowns import frequency_vs_f1, spearman  # noqa: F401 (shared with paper 000)
from claimbench.evaluation.metrics import summarize_codes
from claimbench.data.domains import load_domains
from claimbench.paper002.hierarchy import chapter, description, domain
from claimbench.paper002.metrics import COMPONENTS, micro

LEVEL_LABELS = {
    "icd10_l0": "ICD-10-CM Level 0 (category)",
    "icd10_l1": "ICD-10-CM Level 1 (subcategory)",
    "icd10_l2": "ICD-10-CM Level 2 (fine-grained)",
    "icd10_l3": "ICD-10-CM Level 3 (exact code)",
    "icd10_l4": "ICD-10-CM Level 4 (exact code + evidence line)",
    "cpt": "CPT (exact set)",
}
PAPER_SCORES = ("precision", "recall", "f1")
WITHOUT_SDOH = "SDoH"  # the paper's Table 1 also combines the domains without SDoH


def levels_table(charts: pd.DataFrame) -> pd.DataFrame:
    """Figure 2 (and Table 3's layout): per component (Levels 0-4, CPT) n_charts, precision, recall, f1 (the
    headline: means over charts, F1 from the means), full_match; precision_se / recall_se, the standard error of the
    mean over charts (sample SD / sqrt(n), as Table 3 gives beside its means; none for F1, which is no mean); and
    micro_precision / micro_recall / micro_f1 beside."""
    summary = summarize_codes(charts, COMPONENTS).drop(columns="n_empty_gold")
    summary = summary.rename(columns={"n_cases": "n_charts"})
    summary.insert(1, "label", summary.component.map(LEVEL_LABELS))
    extra = pd.DataFrame([
        {**{f"{score}_se": charts[f"{component}_{score}"].sem() for score in ("precision", "recall")},
         **micro(charts, component)}
        for component in COMPONENTS
    ])
    return pd.concat([summary, extra], axis=1)


def weighted_mean_sd(values: pd.Series, weights: pd.Series) -> tuple[float, float]:
    """Weighted mean and weighted SD with frequency weights: mean = Σ w x / Σ w, SD = sqrt(Σ w (x - mean)² / Σ w)
    (the population form: each evaluation case counts once, no small-sample correction). NaN when Σ w = 0."""
    total = float(weights.sum())
    if total == 0:
        return float("nan"), float("nan")
    mean = float((weights * values).sum()) / total
    return mean, float(np.sqrt(float((weights * (values - mean) ** 2).sum()) / total))


def _domain_row(name: str, codes: pd.DataFrame) -> dict:
    row = {"domain": name, "n_codes": int(len(codes)), "n_cases": int(codes.support.sum())}
    for score in PAPER_SCORES:
        row[score], row[f"{score}_sd"] = weighted_mean_sd(codes[score], codes.support)
    return row


def domain_table(per_code: pd.DataFrame, domains_path: str | Path | None = None) -> pd.DataFrame:
    """Table 1: per domain (file order), then "Combined" and "Combined w/o SDoH", the support-weighted mean and SD of
    the per-code precision, recall and F1 over the domain's codes (``weighted_mean_sd``). Weights are each code's
    support (evaluation charts whose gold has it), so a code only ever predicted (support 0) has no weight and is not
    counted; n_codes = codes with support, n_cases = Σ support (charts with two codes of a domain count twice, as the
    paper's n: 896 + 2128 + 1176 = 4200)."""
    names = list(load_domains(domains_path))
    scored = per_code[per_code.support > 0].copy()
    scored["domain"] = [domain(code, domains_path) for code in scored.code]
    rows = [_domain_row(name, scored[scored.domain == name]) for name in names]
    rows.append(_domain_row("Combined", scored[scored.domain.notna()]))
    if WITHOUT_SDOH in names:
        rows.append(_domain_row(f"Combined w/o {WITHOUT_SDOH}",
                                scored[scored.domain.notna() & (scored.domain != WITHOUT_SDOH)]))
    return pd.DataFrame(rows)


def lowest_categories(per_category: pd.DataFrame, min_cases: int = 10) -> pd.DataFrame:
    """Figure 3b: categories (Level-0 per-code scores) with support >= ``min_cases``, lowest F1 first (ties by code),
    with ``outlier`` = F1 < Q1 - 1.5 IQR over those categories (quartiles by linear interpolation, numpy's default;
    the fence is in column ``lower_fence``), the FY2026 title and chapter number."""
    eligible = per_category[per_category.support >= min_cases].sort_values(["f1", "code"]).reset_index(drop=True)
    q1, q3 = (eligible.f1.quantile(q) for q in (0.25, 0.75)) if len(eligible) else (float("nan"), float("nan"))
    fence = q1 - 1.5 * (q3 - q1)
    eligible.insert(1, "title", [description(code) for code in eligible.code])
    eligible.insert(2, "chapter", pd.array([_chapter_number(code) for code in eligible.code], dtype="Int64"))
    eligible["lower_fence"] = fence
    eligible["outlier"] = eligible.f1 < fence
    return eligible


def _chapter_number(code: str) -> int | None:
    found = chapter(code)
    return found.number if found else None


def chapter_table(per_code: pd.DataFrame) -> pd.DataFrame:
    """Figure 3c: per ICD-10-CM chapter, ``f1`` = the unweighted mean of per-code F1 over the chapter's codes with
    support (the figure's "mean F1"), and ``micro_f1`` = 2 ΣTP / (2 ΣTP + ΣFP + ΣFN) over all its codes, including
    codes only ever predicted (so fabrications within the chapter count there). n_codes = codes with support, n_cases
    = Σ support. Codes in no chapter (fabricated categories) form a last row with chapter <NA>."""
    found = [chapter(code) for code in per_code.code]
    frame = per_code.assign(chapter=[entry.number if entry else -1 for entry in found],
                            title=[entry.title if entry else "no ICD-10-CM chapter" for entry in found])
    rows = []
    for (number, title), codes in frame.groupby(["chapter", "title"], sort=True):
        supported = codes[codes.support > 0]
        tp, fp, fn = (int(codes[name].sum()) for name in ("tp", "fp", "fn"))
        rows.append({
            "chapter": None if number == -1 else int(number),
            "title": title,
            "n_codes": int(len(supported)),
            "n_cases": int(supported.support.sum()),
            "f1": float(supported.f1.mean()) if len(supported) else float("nan"),
            "micro_f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan"),
        })
    out = pd.DataFrame(rows, columns=["chapter", "title", "n_codes", "n_cases", "f1", "micro_f1"])
    out["chapter"] = out.chapter.astype("Int64")
    return out.sort_values("chapter", na_position="last").reset_index(drop=True)
