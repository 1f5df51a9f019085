"""The coding policy that the synthetic generator draws from (``coding_policy.yaml``: services, procedures,
diagnoses, domain findings, phrasing), with the lookups the generator needs precomputed."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import yaml

from claimbench import codesets

POLICY_FILE = Path(__file__).with_name("coding_policy.yaml")
SIDES = ("R", "L", "B")


class Policy:
    """The coding policy file, with the lookups the generator needs precomputed."""

    def __init__(self, path: Path = POLICY_FILE, cpt_catalog_path=None):
        with open(path) as handle:
            self.raw = yaml.safe_load(handle)
        self.procedures = self.raw["procedures"]
        self.services = self.raw["services"]
        # plain dicts: the generator looks rows up several times per encounter, and pandas .loc is slow for that
        self.catalog = codesets.cpt_catalog(cpt_catalog_path).set_index("cpt").to_dict("index")

    def service_weights(self, shares) -> tuple[list[str], np.ndarray]:
        names = list(self.services)
        if shares == "paper":
            weights = [self.raw["paper_service_counts"].get(name, 0) for name in names]
        elif shares == "uniform":
            weights = [1.0] * len(names)
        else:
            unknown = set(shares) - set(names)
            if unknown:
                raise ValueError(f"config data.synthetic.service_shares names unknown services {sorted(unknown)}")
            weights = [float(shares.get(name, 0)) for name in names]
        w = np.asarray(weights, dtype=float)
        return names, w / w.sum()

    def year_weights(self, years: tuple[int, int], shares) -> tuple[list[int], np.ndarray]:
        span = list(range(years[0], years[1] + 1))
        if shares == "paper":
            paper = self.raw["paper_year_counts"]
            w = np.asarray([paper[i % len(paper)] for i in range(len(span))], dtype=float)
        elif shares == "uniform":
            w = np.ones(len(span))
        else:
            w = np.asarray([float(shares.get(y, shares.get(str(y), 0))) for y in span])
        return span, w / w.sum()

    def catalog_row(self, cpt: str) -> dict:
        return self.catalog[cpt]

    def cpt_valid(self, cpt: str, year: int) -> bool:
        row = self.catalog[cpt]
        return not (row["first_year"] > year) and not (row["last_year"] < year)

    @cached_property
    def comorbidities(self) -> list[dict]:
        return self.raw["comorbidities"]


def resolve_diagnosis(entry: dict, side: str, valid: frozenset[str]) -> str | None:
    """The ICD-10-CM code a diagnosis entry gives for a side, or None if no alternative is valid this fiscal year."""
    digits = entry.get("lat_digits", "123")
    lat = digits[SIDES.index(side)] if side in SIDES and len(digits) > SIDES.index(side) else ""
    for template in entry.get("codes") or [entry["code"]]:
        code = template.replace("{lat}", lat)
        if code in valid:
            return code
    return None
