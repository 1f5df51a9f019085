"""Paired comparisons: two configurations (or two components of one) scored on the same test cases.

Both sides of a comparison answered the same cases, so the question is whether the *difference* of their F1 lies
apart from zero, not whether their two intervals miss each other (``verdict.compare``, the conservative view kept for
comparison with the paper's method). Two tests:

- **Paired bootstrap of the F1 difference.** ``bootstrap.py`` already resamples every configuration and component
  with the same case indices in each replicate (the paper's 1,000 resamples, seeded from config
  ``evaluation.bootstrap.seed``), so replicate r's difference is F1_high[r] - F1_low[r], and its 2.5% and 97.5%
  percentiles are the paired 95% interval. "low < high" is **yes** when that interval lies wholly above zero,
  **no** when wholly below, else **not separable** (an interval that touches zero included).
- **McNemar's test on per-case full match** (a case is right when its code set equals the coder's). Only the
  discordant cases count: n_low (low right, high wrong) and n_high (the reverse); the exact two-sided p-value is
  the binomial test of n_high successes in n_low + n_high trials with p = 1/2 (``scipy.stats.binomtest``; exact
  rather than the chi-square approximation because test sets here are small). No discordant case: p = 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

YES, NO, NOT_SEPARABLE, NOT_TESTED = "yes", "no", "not separable", "not tested"


@dataclass(frozen=True)
class Difference:
    """F1 of high minus F1 of low, with the paired bootstrap 95% interval of that difference."""

    value: float
    lower: float
    upper: float

    def __str__(self) -> str:
        if not np.isfinite(self.value):
            return "—"
        return f"{self.value:+.2f} [{self.lower:+.2f}, {self.upper:+.2f}]"


class McNemar(NamedTuple):
    n_low: int  # cases only the low side got fully right
    n_high: int  # cases only the high side got fully right
    p_value: float


def f1_replicates(replicates: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """(configuration, component) -> its F1 per bootstrap replicate, in replicate order (from the long frame of
    bootstrap_replicates.parquet)."""
    f1 = replicates[replicates.metric == "f1"].sort_values("replicate", kind="stable")
    return {(str(c), str(k)): group.value.to_numpy(dtype=np.float64)
            for (c, k), group in f1.groupby(["configuration", "component"], sort=False)}


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> np.ndarray:
    """The ``level`` percentile interval of bootstrap replicates along the first axis: rows lower and upper."""
    tail = (1 - level) / 2
    return np.quantile(replicates, [tail, 1 - tail], axis=0)


def difference_intervals(low: np.ndarray, high: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Percentile intervals of ``high - low`` replicate by replicate: arrays (n_resamples x k) -> (2 x k), rows
    lower and upper. Vectorised over the k comparisons (benchmarks/bootstrap_speed.py times it)."""
    return percentile_interval(np.asarray(high) - np.asarray(low), level)


def paired_difference(value: float, low: np.ndarray | None, high: np.ndarray | None, level: float = 0.95) -> Difference:
    """The observed difference ``value`` with the paired interval from the two sides' replicates (NaN without them)."""
    if low is None or high is None or len(low) != len(high) or not len(low):
        return Difference(value, float("nan"), float("nan"))
    lower, upper = difference_intervals(low, high, level)
    return Difference(value, float(lower), float(upper))


def paired_verdict(difference: Difference) -> str:
    """Verdict on "low < high" from the paired interval of high - low (module docstring)."""
    if not (np.isfinite(difference.lower) and np.isfinite(difference.upper)):
        return NOT_TESTED
    if difference.lower > 0:
        return YES
    if difference.upper < 0:
        return NO
    return NOT_SEPARABLE


def mcnemar(low_right, high_right) -> McNemar:
    """McNemar's exact test on two aligned per-case outcome vectors (True: the case is right)."""
    low_right, high_right = np.asarray(low_right, dtype=bool), np.asarray(high_right, dtype=bool)
    if low_right.shape != high_right.shape:
        raise ValueError(f"McNemar needs the same cases on both sides: {low_right.shape} vs {high_right.shape}")
    n_low = int((low_right & ~high_right).sum())
    n_high = int((high_right & ~low_right).sum())
    if n_low + n_high == 0:
        return McNemar(0, 0, 1.0)
    return McNemar(n_low, n_high, float(stats.binomtest(n_high, n_low + n_high, 0.5).pvalue))


def full_match(cases: Mapping[str, pd.DataFrame], component: str) -> dict[str, np.ndarray]:
    """configuration -> per-case full match of ``component``, cases in encounter order (the bootstrap's order)."""
    out = {}
    for name, frame in cases.items():
        frame = frame.sort_values("encounter_id", kind="stable")
        out[name] = frame[f"{component}_full_match"].to_numpy(dtype=bool)
    return out
