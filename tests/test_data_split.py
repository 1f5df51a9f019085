import numpy as np
import pandas as pd

from claimbench.data.split import SPLITS, assign_splits, deal


def frame(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.to_datetime("2019-01-01") + pd.to_timedelta(rng.integers(0, 6 * 365, n), unit="D")
    return pd.DataFrame({"encounter_id": [f"E{i:05d}" for i in range(n)], "surgery_date": dates.strftime("%Y-%m-%d")})


def test_deal_keeps_every_prefix_within_one_of_target():
    parts = deal(1000, (0.6, 0.2, 0.2))
    counts = np.cumsum(np.eye(3)[parts], axis=0)
    target = np.arange(1, 1001)[:, None] * np.array([0.6, 0.2, 0.2])
    assert np.abs(counts - target).max() <= 1.0
    assert counts[-1].tolist() == [600, 200, 200]


def test_split_is_disjoint_complete_reproducible_and_balanced_by_date():
    f = frame()
    labels = assign_splits(f, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed=1)
    assert set(labels) == set(SPLITS) and labels.notna().all()  # every encounter in exactly one split
    assert labels.equals(assign_splits(f, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed=1))
    assert not labels.equals(assign_splits(f, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed=2))
    # the same rows in another order get the same labels
    shuffled = f.sample(frac=1, random_state=3)
    assert assign_splits(shuffled, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed=1).reindex(f.index).equals(labels)
    by_month = pd.crosstab(f.surgery_date.str.slice(0, 7), labels)
    expected = by_month.sum(axis=1).to_numpy()[:, None] * np.array([0.2, 0.2, 0.6])  # crosstab columns sort: test, train, validation
    assert np.abs(by_month[["test", "validation", "train"]].to_numpy() - expected[:, [0, 1, 2]]).max() <= 2.0
