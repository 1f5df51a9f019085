"""Bootstrap: same answer as the plain resample-and-average loop, seeded, paired across configurations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from claimbench.evaluation.bootstrap import CHUNK, bootstrap_configurations, bootstrap_intervals, bootstrap_means


def naive(values: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """The definition, one replicate at a time, drawing from the same random stream."""
    rng = np.random.default_rng(seed)
    n = len(values)
    out = []
    for start in range(0, n_resamples, CHUNK):
        draws = rng.integers(0, n, size=(min(CHUNK, n_resamples - start), n), dtype=np.int32)
        out.extend(values[row].mean(axis=0) for row in draws)
    return np.array(out)


def test_matches_the_plain_loop():
    values = np.random.default_rng(1).random((37, 3))
    np.testing.assert_allclose(bootstrap_means(values, 120, seed=7), naive(values, 120, seed=7), rtol=1e-12)


def test_seeded_and_known_answers():
    values = np.array([0.0, 1.0])
    a, b = bootstrap_means(values, 400, seed=3), bootstrap_means(values, 400, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, bootstrap_means(values, 400, seed=4))
    assert set(np.unique(a)) <= {0.0, 0.5, 1.0}  # two cases: a replicate mean is 0, 1/2 or 1
    assert a.mean() == pytest.approx(0.5, abs=0.05)
    np.testing.assert_array_equal(bootstrap_means(np.full(10, 0.25), 60, seed=0), np.full((60, 1), 0.25))
    assert np.isnan(bootstrap_means(np.empty((0, 2)), 5)).all()


def _cases(ids, precision, recall):
    return pd.DataFrame(
        {"encounter_id": ids, **{f"{c}_precision": precision for c in ("icd10", "cpt", "modifier")},
         **{f"{c}_recall": recall for c in ("icd10", "cpt", "modifier")}}
    )


def test_configurations_are_paired_and_f1_comes_from_the_replicate_means():
    ids = [f"e{i}" for i in range(20)]
    rng = np.random.default_rng(0)
    p, r = rng.random(20), rng.random(20)
    # the second configuration lists the same cases in another order: it is aligned by encounter id
    shuffled = _cases(ids, p, r).iloc[::-1]
    reps = bootstrap_configurations({"a": _cases(ids, p, r), "b": shuffled}, n_resamples=30, seed=5)
    a = reps[reps.configuration == "a"].reset_index(drop=True)
    b = reps[reps.configuration == "b"].reset_index(drop=True)
    pd.testing.assert_series_equal(a.value, b.value)  # same cases drawn for both configurations
    cpt = a[a.component == "cpt"].pivot(index="replicate", columns="metric", values="value")
    expected = 2 * cpt.precision * cpt.recall / (cpt.precision + cpt.recall)
    np.testing.assert_allclose(cpt.f1, expected)
    assert len(reps) == 2 * 3 * 3 * 30
    intervals = bootstrap_intervals(reps).set_index(["configuration", "component", "metric"])
    row = intervals.loc[("a", "icd10", "recall")]
    assert row.lower <= row["mean"] <= row.upper
    assert row["mean"] == pytest.approx(r.mean(), abs=0.1)


def test_configurations_on_different_cases_are_refused():
    with pytest.raises(ValueError, match="different encounters"):
        bootstrap_configurations({"a": _cases(["e1", "e2"], [1, 0], [1, 0]), "b": _cases(["e1", "e3"], [1, 0], [1, 0])})
