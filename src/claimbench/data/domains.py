"""Paper 002's clinical domains (Advanced Illness, Frailty, SDoH) as ICD-10-CM code prefixes, read from
``paper002_domains.yaml``: the one definition the chart generator and the evaluation share."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

DOMAINS_FILE = Path(__file__).with_name("paper002_domains.yaml")


@lru_cache(maxsize=4)
def load_domains(path: str | Path = DOMAINS_FILE) -> dict[str, tuple[str, ...]]:
    """Domain name -> code prefixes (no dot), in the file's order (a code belongs to the first domain that matches)."""
    with open(path) as handle:
        raw = yaml.safe_load(handle)
    return {name: tuple(str(p).replace(".", "").upper() for p in prefixes) for name, prefixes in raw["domains"].items()}


def domain_of(code: str, domains: dict[str, tuple[str, ...]] | None = None) -> str | None:
    """The domain an ICD-10-CM code (with or without its dot) counts in, or None."""
    plain = code.replace(".", "").upper()
    for name, prefixes in (domains or load_domains()).items():
        if plain.startswith(prefixes):
            return name
    return None
