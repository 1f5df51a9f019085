"""Speed of the Figure 3 bootstrap: 1000 resamples of 40,000 cases (target: under 5 s on the 2-core machine).

    .venv/bin/python benchmarks/bootstrap_speed.py [--cases 40000] [--resamples 1000] [--repeats 3]

Times ``claimbench.evaluation.bootstrap.bootstrap_means`` on random per-case precision/recall columns: one column
pair is one configuration and code type; the default 30 columns are 5 configurations x 3 code types x 2 metrics,
all resampled together, as the workflow does. Then the paired part (``claimbench.evaluation.paired``): F1 per replicate
from each column pair, and the paired 95% interval of the F1 difference of every pair of configurations per code type
(5 configurations: 10 pairs x 3 code types). Prints each repeat (bootstrap, paired, total) and the medians.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np

from claimbench.evaluation.bootstrap import bootstrap_means
from claimbench.evaluation.paired import difference_intervals

CODE_TYPES = 3  # ICD-10-CM, CPT, modifiers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=30, help="configurations x code types x {precision, recall}")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    values = np.random.default_rng(0).random((args.cases, args.columns))
    times, paired_times = [], []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        means = bootstrap_means(values, n_resamples=args.resamples, seed=repeat)
        middle = time.perf_counter()
        intervals = paired_intervals(means)
        times.append(time.perf_counter() - start)
        paired_times.append(time.perf_counter() - middle)
        print(f"repeat {repeat + 1}: {times[-1]:.2f} s (paired part {paired_times[-1]:.3f} s)")
    assert means.shape == (args.resamples, args.columns)
    print(
        f"bootstrap {args.resamples} x {args.cases:,} cases x {args.columns} columns, paired included "
        f"({intervals.shape[1]} paired differences): median {statistics.median(times):.2f} s over {args.repeats} "
        f"repeats (paired part {statistics.median(paired_times):.3f} s; target < 5 s)"
    )


def paired_intervals(means: np.ndarray) -> np.ndarray:
    """F1 per replicate from each (precision, recall) column pair, then the paired interval of the difference of
    every pair of configurations per code type (columns ordered configuration, code type, metric)."""
    precision, recall = means[:, 0::2], means[:, 1::2]
    total = precision + recall
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(total == 0, 0.0, 2 * precision * recall / total)  # replicates x (configuration, code type)
    n_configurations = f1.shape[1] // CODE_TYPES
    f1 = f1.reshape(len(f1), n_configurations, CODE_TYPES)
    pairs = list(itertools.combinations(range(n_configurations), 2))
    low = np.concatenate([f1[:, a, :] for a, _ in pairs], axis=1)
    high = np.concatenate([f1[:, b, :] for _, b in pairs], axis=1)
    return difference_intervals(low, high)



if __name__ == "__main__":
    main()
