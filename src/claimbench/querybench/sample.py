"""A seeded random sample of billable codes with their descriptions, one per code system."""

from __future__ import annotations

import logging
import zlib

import numpy as np
import pandas as pd

from claimbench.querybench.codebook import Codebook
from claimbench.querybench.systems import normalize

log = logging.getLogger(__name__)


def system_rng(seed: int, key: str) -> np.random.Generator:
    """One generator per (seed, system): a system's sample does not change when another system's size does."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(key.encode())]))


def sample_codes(codebook: Codebook, n: int, seed: int) -> pd.DataFrame:
    """``n`` distinct billable codes drawn uniformly without replacement (all of them when the system has fewer).

    Codes without a description, and the prompt's example code, are left out of the frame. The rows come in draw
    order, so the first k rows are themselves a uniform sample of size k (the temperature sweep uses that).
    """
    example = normalize(codebook.system.example_code)
    frame = sorted(c for c, d in codebook.billable.items() if d and d.strip() and normalize(c) != example)
    if n > len(frame):
        log.warning("%s: asked for %d codes, the code set has %d; taking all", codebook.source, n, len(frame))
        n = len(frame)
    order = system_rng(seed, codebook.system.key).permutation(len(frame))[:n]
    codes = [frame[i] for i in order]
    return pd.DataFrame(
        {
            "system": codebook.system.key,
            "item": np.arange(n),
            "code": codes,
            "description": [codebook.billable[c].strip() for c in codes],
        }
    )
