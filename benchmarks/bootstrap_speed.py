"""Speed of the Figure 3 bootstrap: 1000 resamples of 40,000 cases (target: under 5 s on the 2-core machine).

    .venv/bin/python benchmarks/bootstrap_speed.py [--cases 40000] [--resamples 1000] [--repeats 3]

Times ``claimbench.evaluation.bootstrap.bootstrap_means`` on random per-case precision/recall columns: one column
pair is one configuration and code type; the default 30 columns are 5 configurations x 3 code types x 2 metrics,
all resampled together, as the workflow does. Prints each repeat and the median.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from claimbench.evaluation.bootstrap import bootstrap_means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=30, help="configurations x code types x {precision, recall}")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    values = np.random.default_rng(0).random((args.cases, args.columns))
    times = []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        means = bootstrap_means(values, n_resamples=args.resamples, seed=repeat)
        times.append(time.perf_counter() - start)
        print(f"repeat {repeat + 1}: {times[-1]:.2f} s")
    assert means.shape == (args.resamples, args.columns)
    print(
        f"bootstrap {args.resamples} x {args.cases:,} cases x {args.columns} columns: "
        f"median {statistics.median(times):.2f} s over {args.repeats} repeats (target < 5 s)"
    )


if __name__ == "__main__":
    main()
