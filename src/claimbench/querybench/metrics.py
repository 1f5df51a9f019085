"""Paper 003's scores, with the precise definitions the slides leave open, and their 95% confidence intervals.

Per response r to the query for reference code c (codes compared in normal form: upper case, dots removed):

- codes(r): every code-shaped string in r, in order, repeats kept (``systems.extract_codes``).
- predicted(r): the answer: the first code-shaped string after "Code:" if present, else the first in r, else none.
- exact match: predicted(r) == c. A response with no code is not a match. Over ALL responses.
- incorrect: not an exact match (so incorrect % = 100 - exact match %). Over ALL responses, reported as n and %.
- valid: predicted(r) exists in the code system (billable code or category header, as "exists in UMLS").
- fabricated: predicted(r) does not exist in the code system. Valid % + fabricated % = 100.
- code frequency: |codes(r)|, the number of code-shaped strings in the response, averaged over ALL responses.
- matched length: len(predicted(r)) == len(c) (characters, dots excluded).
- matched digits: share of c's characters reproduced at the same position:
  #{i < min(len p, len c) : p[i] == c[i]} / len(c), as a percentage, averaged.
- METEOR, BERTScore F1: between the description of predicted(r) and the reference description.
- echoed example (this project's addition): predicted(r) is the prompt's own <sample code> (e.g. E11.9), which the
  sample never contains; small models often copy it, and it is a valid code, so it hides inside "valid".

Valid, fabricated, matched length and matched digits are over the responses that contain a code (the paper's
valid + fabricated = 100% implies that denominator); the share with no code at all is reported beside them
("no code %"). METEOR and BERTScore are over responses whose predicted code is valid: a fabricated code has no
description to compare (the paper's Llama-2 BERTScore, 0.749 with 45.9% fabricated, implies the same). Every
metric carries its denominator n.

CIs: proportions use the Wilson score interval (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``);
means use the t interval of the mean (``scipy.stats.ttest_1samp(...).confidence_interval()``), clipped to the
metric's range (``MEAN_BOUNDS``: a small sample's t interval can go below zero). The paper does not
say which it used; at its sizes both agree with a normal approximation to the digits it prints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from claimbench.querybench.codebook import Codebook
from claimbench.querybench.systems import extract_codes, normalize, predicted_code

# The range each mean metric lives in: its CI is clipped to it.
MEAN_BOUNDS = {"code_frequency": (0.0, math.inf), "matched_digits": (0.0, 100.0), "meteor": (0.0, 1.0),
               "bertscore": (-1.0, 1.0)}

# metric -> (label in tables, kind). kind "proportion" values are percentages.
METRICS = {
    "exact_match": ("Exact match, %", "proportion"),
    "incorrect": ("Incorrect codes, %", "proportion"),
    "valid": ("Valid code, %", "proportion"),
    "fabricated": ("Fabricated code, %", "proportion"),
    "no_code": ("No code in response, %", "proportion"),
    "echoed_example": ("Answer is the prompt's sample code, %", "proportion"),
    "code_frequency": ("Code frequency, mean", "mean"),
    "matched_length": ("Matched length, %", "proportion"),
    "matched_digits": ("Matched digits, %", "mean"),
    "meteor": ("METEOR", "mean"),
    "bertscore": ("BERTScore F1", "mean"),
}


def matched_digits(predicted: str, reference: str) -> float:
    """Percentage of the reference code's characters that the prediction has at the same position."""
    p, c = normalize(predicted), normalize(reference)
    if not c:
        return 0.0
    return 100.0 * sum(a == b for a, b in zip(p, c)) / len(c)


def score_response(response: str | None, reference: str, codebook: Codebook) -> dict:
    """The per-response facts every metric is built from. Never raises on malformed output."""
    system = codebook.system
    codes = extract_codes(response, system)
    pred = predicted_code(response, system)
    has = pred is not None
    valid = codebook.exists(pred) if has else None
    return {
        "codes": codes,
        "n_codes": len(codes),
        "predicted": pred,
        "exact_match": has and pred == normalize(reference),
        "valid": valid,
        "fabricated": (not valid) if has else None,
        "matched_length": (len(pred) == len(normalize(reference))) if has else None,
        "matched_digits": matched_digits(pred, reference) if has else None,
        "echoed_example": (pred == normalize(system.example_code)) if has else None,
        "predicted_description": codebook.description(pred) if valid else None,
    }


def score_responses(frame: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Add the per-response facts to a frame with columns ``response`` and ``code`` (the reference)."""
    rows = [score_response(r, c, codebook) for r, c in zip(frame["response"], frame["code"])]
    return pd.concat([frame.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


def add_text_similarity(
    frame: pd.DataFrame,
    meteor: Callable[[str, str], float],
    bertscore: Callable[[Sequence[str], Sequence[str]], Sequence[float]],
) -> pd.DataFrame:
    """METEOR and BERTScore F1 of predicted_description against the reference ``description`` where there is one.

    ``meteor(reference, hypothesis)`` and ``bertscore(candidates, references)`` are injected (see ``textsim``)."""
    frame = frame.copy()
    has = frame["predicted_description"].notna()
    refs = frame.loc[has, "description"].tolist()
    hyps = frame.loc[has, "predicted_description"].tolist()
    frame["meteor"] = np.nan
    frame["bertscore"] = np.nan
    if hyps:
        frame.loc[has, "meteor"] = [float(meteor(r, h)) for r, h in zip(refs, hyps)]
        frame.loc[has, "bertscore"] = [float(x) for x in bertscore(hyps, refs)]
    return frame


def proportion_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """(percentage, low, high) with the Wilson score interval; NaNs when n == 0."""
    if n == 0:
        return math.nan, math.nan, math.nan
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return 100.0 * k / n, 100.0 * ci.low, 100.0 * ci.high


def mean_ci(
    values: Sequence[float], level: float = 0.95, bounds: tuple[float, float] = (-math.inf, math.inf)
) -> tuple[float, float, float]:
    """(mean, low, high) with the t interval, clipped to the metric's range ``bounds`` (a small sample's t interval
    can reach below 0 codes per response); a constant sample gives a zero-width interval; NaNs when empty."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if x.size == 1:
        return m, math.nan, math.nan
    if np.all(x == x[0]):
        return m, m, m
    ci = stats.ttest_1samp(x, 0.0).confidence_interval(confidence_level=level)
    return m, max(float(ci.low), bounds[0]), min(float(ci.high), bounds[1])


def summarize(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per metric: metric, label, value, ci_low, ci_high, count (numerator, proportions), n (denominator)."""
    total = len(scored)
    with_code = scored[scored["predicted"].notna()]
    proportions = {
        "exact_match": (int(scored["exact_match"].sum()), total),
        "incorrect": (int((~scored["exact_match"].astype(bool)).sum()), total),
        "no_code": (total - len(with_code), total),
        "valid": (int(with_code["valid"].astype(bool).sum()), len(with_code)),
        "fabricated": (int(with_code["fabricated"].astype(bool).sum()), len(with_code)),
        "matched_length": (int(with_code["matched_length"].astype(bool).sum()), len(with_code)),
        "echoed_example": (int(with_code["echoed_example"].astype(bool).sum()), len(with_code)),
    }
    means = {
        "code_frequency": scored["n_codes"].astype(float),
        "matched_digits": with_code["matched_digits"].astype(float),
    }
    for name in ("meteor", "bertscore"):
        if name in scored:
            means[name] = scored[name].dropna().astype(float)
    rows = []
    for name, (label, kind) in METRICS.items():
        if name in proportions:
            k, n = proportions[name]
            value, low, high = proportion_ci(k, n)
            rows.append(dict(metric=name, label=label, value=value, ci_low=low, ci_high=high, count=k, n=n))
        elif name in means:
            value, low, high = mean_ci(means[name], bounds=MEAN_BOUNDS[name])
            rows.append(dict(metric=name, label=label, value=value, ci_low=low, ci_high=high, count=None, n=len(means[name])))
    return pd.DataFrame(rows)
