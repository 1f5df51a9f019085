"""Paired comparisons: hand-computed intervals and McNemar p-values, and a pair the paired test separates although
its two bootstrap intervals overlap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from claimbench.evaluation.bootstrap import bootstrap_configurations, bootstrap_intervals
from claimbench.evaluation.paired import (
    NO,
    NOT_SEPARABLE,
    NOT_TESTED,
    YES,
    Difference,
    difference_intervals,
    f1_replicates,
    mcnemar,
    paired_difference,
    paired_verdict,
)
from claimbench.evaluation.verdict import Interval, compare


def test_difference_interval_known_answer():
    # differences 1, 2, 3, 4: linear percentiles 1 + 0.025 * 3 and 1 + 0.975 * 3
    lower, upper = difference_intervals(np.zeros(4), np.array([1.0, 2.0, 3.0, 4.0]))
    assert (lower, upper) == pytest.approx((1.075, 3.925))
    # vectorised over comparisons: column k is comparison k
    both = difference_intervals(np.zeros((4, 2)), np.array([[1.0, -1], [2, -2], [3, -3], [4, -4]]))
    np.testing.assert_allclose(both, [[1.075, -3.925], [3.925, -1.075]])
    assert str(paired_difference(0.5, np.zeros(4), np.array([1.0, 2, 3, 4]))) == "+0.50 [+1.08, +3.92]"
    assert np.isnan(paired_difference(0.5, None, None).lower)  # no replicates: no interval


@pytest.mark.parametrize(
    ("difference", "expected"),
    [
        (Difference(0.1, 0.01, 0.2), YES),
        (Difference(-0.1, -0.2, -0.01), NO),
        (Difference(0.1, 0.0, 0.2), NOT_SEPARABLE),  # touching zero is not apart from it
        (Difference(0.0, -0.1, 0.1), NOT_SEPARABLE),
        (Difference(0.1, float("nan"), float("nan")), NOT_TESTED),
    ],
)
def test_paired_verdict(difference, expected):
    assert paired_verdict(difference) == expected


def test_mcnemar_known_answers():
    # discordant: case 0 only low right, cases 2-4 only high right -> binomial(3 of 4, 1/2) two-sided:
    # P(X >= 3) + P(X <= 1) = (1 + 4 + 4 + 1) / 16 = 0.625
    test = mcnemar([True, True, False, False, False], [False, True, True, True, True])
    assert (test.n_low, test.n_high) == (1, 3) and test.p_value == pytest.approx(0.625)
    # 5 of 5 discordant cases one way: 2 / 2^5
    assert mcnemar([False] * 5, [True] * 5).p_value == pytest.approx(0.0625)
    # no discordant case: nothing to tell apart
    assert mcnemar([True, False], [True, False]) == (0, 0, 1.0)
    with pytest.raises(ValueError, match="same cases"):
        mcnemar([True], [True, False])


def _cases(values: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"encounter_id": [f"e{i:02d}" for i in range(len(values))]})
    for component in ("icd10", "cpt", "modifier"):
        frame[f"{component}_precision"] = values
        frame[f"{component}_recall"] = values
    return frame


def test_paired_test_separates_overlapping_intervals_whose_differences_all_share_a_sign():
    """Two configurations on 30 cases: b beats a by 0.05 on every case, while the cases themselves vary widely. Each
    configuration's own interval is wide and the two overlap (the paper's view: not separable); the paired interval
    of the difference is +0.05 in every replicate (the verdict: yes)."""
    a = np.random.default_rng(5).uniform(0.1, 0.9, 30)
    b = a + 0.05
    replicates = bootstrap_configurations({"a": _cases(a), "b": _cases(b)}, n_resamples=1000, seed=11)
    intervals = bootstrap_intervals(replicates).set_index(["configuration", "component", "metric"])
    low, high = (intervals.loc[(name, "cpt", "f1")] for name in ("a", "b"))
    assert compare(Interval("a", low["mean"], low.lower, low.upper),
                   Interval("b", high["mean"], high.lower, high.upper)) == NOT_SEPARABLE
    f1 = f1_replicates(replicates)
    difference = paired_difference(0.05, f1[("a", "cpt")], f1[("b", "cpt")])
    assert difference.lower == pytest.approx(0.05) and difference.upper == pytest.approx(0.05)
    assert paired_verdict(difference) == YES
    # resampled independently (different seeds), the same difference is much less certain
    independent = bootstrap_configurations({"b": _cases(b)}, n_resamples=1000, seed=12)
    unpaired = paired_difference(0.05, f1[("a", "cpt")], f1_replicates(independent)[("b", "cpt")])
    assert unpaired.upper - unpaired.lower > 0.1 and paired_verdict(unpaired) == NOT_SEPARABLE
