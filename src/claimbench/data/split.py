"""Train / validation / test split balanced across surgery date (paper 000: "balanced across surgical encounter date").

Encounters are ordered by surgery date (ties shuffled with the seed) and dealt out in that order, each to the split
furthest behind its target share. Every prefix of the timeline, and so every month or year, is then split within
one encounter of the configured fractions, whatever its size; the result is reproducible and each encounter lands
in exactly one split.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SPLITS = ("train", "validation", "test")


def deal(n: int, fractions: tuple[float, ...]) -> np.ndarray:
    """Index of the part each of n items in sequence goes to, keeping every prefix within 1 of its share."""
    shares = np.asarray(fractions, dtype=float) / sum(fractions)
    assigned = np.zeros(len(shares))
    out = np.empty(n, dtype=np.int8)
    for k in range(n):
        part = int(np.argmax((k + 1) * shares - assigned))
        assigned[part] += 1
        out[k] = part
    return out


def assign_splits(frame: pd.DataFrame, fractions: dict[str, float], seed: int) -> pd.Series:
    """The split name of each row of ``frame`` (needs encounter_id and surgery_date)."""
    rng = np.random.default_rng(seed)
    # encounter_id order first, so the result does not depend on the order rows arrived in
    base = frame.sort_values("encounter_id", kind="stable")
    tie_break = rng.permutation(len(base))
    ordered = base.assign(_tie=tie_break).sort_values(["surgery_date", "_tie"], kind="stable")
    labels = np.asarray(SPLITS)[deal(len(ordered), tuple(fractions[name] for name in SPLITS))]
    return pd.Series(labels, index=ordered.index).reindex(frame.index)


def select_cases(test: pd.DataFrame, n_test_cases: int | None, seed: int) -> pd.DataFrame:
    """The test cases to predict: all, or a seeded sample of ``n_test_cases`` kept in test-split order."""
    if n_test_cases is None or n_test_cases >= len(test):
        return test.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(test), size=int(n_test_cases), replace=False))
    return test.iloc[rows].reset_index(drop=True)
