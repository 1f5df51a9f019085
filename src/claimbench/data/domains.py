"""Paper 002's clinical domains (Advanced Illness, Frailty, SDoH) as ICD-10-CM code prefixes, read from
``paper002_domains.yaml``: the one definition the chart generator and the evaluation share."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

DOMAINS_FILE = Path(__file__).with_name("paper002_domains.yaml")


def plain_code(code: object) -> str:
    """An ICD-10-CM code as prefixes match it: stripped, upper case, no dot (paper 002's evaluation compares so too)."""
    return str(code).strip().replace(".", "").upper()


@lru_cache(maxsize=8)
def load_domains(path: str | Path | None = None) -> dict[str, tuple[str, ...]]:
    """Domain name -> code prefixes (no dot, upper case), in the file's order (a code belongs to the first domain that
    matches); ValueError naming the file and the bad entry."""
    path = Path(path or DOMAINS_FILE)
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    domains = raw.get("domains") if isinstance(raw, dict) else None
    if not isinstance(domains, dict) or not domains:
        raise ValueError(f"{path}: field 'domains': expected a mapping of domain name to code prefixes")
    out = {}
    for name, prefixes in domains.items():
        if not isinstance(prefixes, list) or not prefixes:
            raise ValueError(f"{path}: domain {name!r}: expected a non-empty list of code prefixes")
        for index, prefix in enumerate(prefixes):
            if not isinstance(prefix, str) or not re.fullmatch(r"[A-Z][0-9A-Z]{1,6}", plain_code(prefix)):
                raise ValueError(f"{path}: domain {name!r} entry {index}: {prefix!r} is not an ICD-10-CM code prefix")
        out[str(name)] = tuple(plain_code(prefix) for prefix in prefixes)
    return out


def domain_of(code: str, domains: dict[str, tuple[str, ...]] | None = None) -> str | None:
    """The domain an ICD-10-CM code (with or without its dot) counts in, or None."""
    plain = plain_code(code)
    for name, prefixes in (domains or load_domains()).items():
        if plain.startswith(prefixes):
            return name
    return None
