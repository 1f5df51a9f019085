"""Generate and validate a paper-sized synthetic extract; print wall times and peak memory.

Target: 192,585 encounters generated and validated in under 2 minutes, peak memory under 4 GiB.
Usage: .venv/bin/python benchmarks/extract_scale.py [n_encounters]
"""

import resource
import sys
import tempfile
import time
from pathlib import Path

from claimbench.data.ingest import ingest
from claimbench.data.io import write_encounters
from claimbench.data.synthetic import SyntheticSettings, generate_extract


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is KiB on Linux


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "extract.parquet"
        t0 = time.perf_counter()
        records, choices = generate_extract(SyntheticSettings(n_encounters=n, seed=20240812))
        t1 = time.perf_counter()
        write_encounters([{**r, "fiscal_year": c["fiscal_year"]} for r, c in zip(records, choices)], path)
        del records, choices
        t2 = time.perf_counter()
        result = ingest(path)
        t3 = time.perf_counter()
    print(f"encounters:          {n:,}")
    print(f"generate:            {t1 - t0:6.1f} s  ({n / (t1 - t0):,.0f} encounters/s)")
    print(f"write parquet:       {t2 - t1:6.1f} s")
    print(f"read + validate:     {t3 - t2:6.1f} s  ({len(result.records):,} accepted, {len(result.rejections)} rejected)")
    print(f"total:               {t3 - t0:6.1f} s  (target < 120 s)")
    print(f"peak memory (RSS):   {peak_gib():6.2f} GiB (target < 4 GiB)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 192_585)
