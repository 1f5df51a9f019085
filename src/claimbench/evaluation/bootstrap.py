"""Bootstrap of mean precision and recall (paper 000, Figure 3): cases resampled with replacement, 1000 times.

The paper resamples its test cases (N = 39,052) 1000 times and recomputes mean precision and recall per sample.
Here every configuration is resampled with the *same* case indices in each replicate (a paired bootstrap: the
configurations answered the same cases, so their differences are estimated on the same samples), seeded.

Vectorised: a replicate's mean is (counts · values) / n, where counts[i] is how often case i was drawn. The draws
of a chunk of replicates become a count matrix with one ``bincount``, and all metric columns of all configurations
are averaged by one matrix product — no Python loop over cases or metrics (benchmarks/bootstrap_speed.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from claimbench.evaluation.metrics import COMPONENTS

# Replicates drawn per chunk: bounds memory (chunk x n draws) and is part of the random stream's definition, so
# it is a constant, not a tuning knob: changing it would change the replicates for a given seed.
CHUNK = 50


def bootstrap_means(values: np.ndarray, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Means of ``values`` (n_cases x k) over ``n_resamples`` resamples of the rows: array (n_resamples x k)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    n = values.shape[0]
    out = np.empty((n_resamples, values.shape[1]))
    if n == 0:
        out.fill(np.nan)
        return out
    rng = np.random.default_rng(seed)
    index_dtype = np.int32 if n * CHUNK < 2**31 else np.int64
    for start in range(0, n_resamples, CHUNK):
        b = min(CHUNK, n_resamples - start)
        draws = rng.integers(0, n, size=(b, n), dtype=index_dtype)
        draws += (np.arange(b, dtype=index_dtype) * n)[:, None]  # row r's cases -> bins r*n .. r*n+n-1
        counts = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n)
        out[start : start + b] = (counts @ values) / n
    return out


def bootstrap_configurations(
    cases: Mapping[str, pd.DataFrame],
    n_resamples: int = 1000,
    seed: int = 0,
    components: tuple[str, ...] = COMPONENTS,
) -> pd.DataFrame:
    """Replicate means of precision and recall (and F1 from them) per configuration and component.

    ``cases``: configuration -> its per-case frame (``cases.score_cases``), all over the same encounters.
    Returns a long frame: configuration, component, metric (precision/recall/f1), replicate, value.
    """
    if not cases:
        return pd.DataFrame(columns=["configuration", "component", "metric", "replicate", "value"])
    order = None
    blocks, keys = [], []
    for configuration, frame in cases.items():
        frame = frame.sort_values("encounter_id", kind="stable")
        ids = frame["encounter_id"].to_numpy()
        if order is None:
            order = ids
        elif not np.array_equal(order, ids):
            raise ValueError(f"configuration {configuration!r} was scored on different encounters than the others")
        for component in components:
            for metric in ("precision", "recall"):
                blocks.append(frame[f"{component}_{metric}"].to_numpy(dtype=np.float64))
                keys.append((configuration, component, metric))
    means = bootstrap_means(np.column_stack(blocks), n_resamples=n_resamples, seed=seed)
    frames = []
    replicate = np.arange(n_resamples)
    for column, (configuration, component, metric) in enumerate(keys):
        frames.append(
            pd.DataFrame(
                {"configuration": configuration, "component": component, "metric": metric,
                 "replicate": replicate, "value": means[:, column]}
            )
        )
        if metric == "recall":
            precision, recall = means[:, column - 1], means[:, column]
            total = precision + recall
            with np.errstate(invalid="ignore", divide="ignore"):
                f1 = np.where(total == 0, 0.0, 2 * precision * recall / total)  # = f1_from_means, vectorised
            frames.append(
                pd.DataFrame(
                    {"configuration": configuration, "component": component, "metric": "f1",
                     "replicate": replicate, "value": f1}
                )
            )
    return pd.concat(frames, ignore_index=True)


def bootstrap_intervals(replicates: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Percentile intervals: configuration, component, metric, mean, sd, lower, upper (of the replicate means)."""
    tail = (1 - level) / 2
    if replicates.empty:
        return pd.DataFrame(columns=["configuration", "component", "metric", "mean", "sd", "lower", "upper"])
    grouped = replicates.groupby(["configuration", "component", "metric"], sort=False)["value"]
    return grouped.agg(
        mean="mean", sd="std", lower=lambda v: v.quantile(tail), upper=lambda v: v.quantile(1 - tail)
    ).reset_index()
