"""Code validity (paper 000, Code Validity Analysis): is each generated code a real code of the encounter's year?

"To quantify the extent of hallucinations ... we compared each generated code to a reference list of ICD-10s and
CPTs from the appropriate cohort year." Here:

- ICD-10-CM: the billable codes of the fiscal year of the surgery date (``codesets.icd10cm_codes(fiscal_year)``;
  FY N starts 1 October N-1). A category header that is not billable (``E11``) is not a valid claim code, so it
  counts as fabricated. A code valid only in another fiscal year counts as fabricated for this encounter.
- CPT: the codes of the configured catalog valid in the surgery's calendar year (``codesets.cpt_codes(year)``; CPT
  versions follow the calendar year). With the default demo catalog "fabricated" means "not in the demo catalog".
- Modifiers (beyond the paper, which gives no modifier validity): the configured modifier list.

Valid % and fabricated % are shares of the generated codes, pooled over all cases of a configuration: Σ valid /
Σ generated. A case's generated codes are its distinct codes (the metric sets of ``metrics.py``), so a repetition loop
does not outweigh every other case. A configuration that generated no code at all has no valid share (NaN).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import pandas as pd

from claimbench import codesets


class ReferenceSets:
    """Reference code sets by year, loaded once each (``icd10cm_files``/``cpt_catalog``/``modifiers`` from config
    ``codesets``)."""

    def __init__(self, cpt_catalog: str | None = None, modifiers: str | None = None, icd10cm_files: dict | None = None):
        self._cpt_catalog = cpt_catalog
        self._icd10cm_files = dict(icd10cm_files or {})
        self._modifiers = frozenset(codesets.modifier_codes(modifiers))
        self.icd10cm = lru_cache(maxsize=None)(self._icd10cm)
        self.cpt = lru_cache(maxsize=None)(self._cpt)

    def _icd10cm(self, fiscal_year: int) -> frozenset[str]:
        return codesets.icd10cm_codes(int(fiscal_year), self._icd10cm_files)

    def _cpt(self, year: int) -> frozenset[str]:
        return codesets.cpt_codes(int(year), self._cpt_catalog)

    @property
    def modifiers(self) -> frozenset[str]:
        return self._modifiers


def count_valid(codes: Iterable[str], reference: frozenset[str]) -> tuple[int, int]:
    """(number of distinct codes, how many of them are in ``reference``)."""
    distinct = set(codes)
    return len(distinct), len(distinct & reference)


def case_validity(
    icd10: Iterable[str], cpt: Iterable[str], modifiers: Iterable[str], fiscal_year: int, year: int, refs: ReferenceSets
) -> dict[str, int | list[str]]:
    """Generated and valid counts of one case, as flat columns (``icd10_generated``, ``icd10_valid`` ...), and the
    fabricated codes themselves (``icd10_fabricated_codes``, sorted) for the case browser."""
    row = {}
    for name, codes, reference in (
        ("icd10", icd10, refs.icd10cm(fiscal_year)),
        ("cpt", cpt, refs.cpt(year)),
        ("modifier", modifiers, refs.modifiers),
    ):
        codes = set(codes)
        row[f"{name}_generated"], row[f"{name}_valid"] = count_valid(codes, reference)
        row[f"{name}_fabricated_codes"] = sorted(codes - reference)
    return row


def summarize_validity(cases: pd.DataFrame, components: Iterable[str] = ("icd10", "cpt", "modifier")) -> pd.DataFrame:
    """Per component: n_generated, n_valid, valid (share), fabricated (share) pooled over the cases."""
    rows = []
    for component in components:
        generated = int(cases[f"{component}_generated"].sum()) if len(cases) else 0
        valid = int(cases[f"{component}_valid"].sum()) if len(cases) else 0
        share = valid / generated if generated else float("nan")
        rows.append(
            {
                "component": component,
                "n_generated": generated,
                "n_valid": valid,
                "valid": share,
                "fabricated": 1 - share if generated else float("nan"),
            }
        )
    return pd.DataFrame(rows)
