"""The no-language-model reference of description-grounded coding (configuration method ``grounded``, beyond the
paper): the note's own lines matched to the code sets' descriptions, as knn is the reference for retrieval from
training claims.

Each line of the note (split at sentence ends; lines shorter than ``MIN_LINE_CHARS`` are headings) is a query; a
code's score is its best cosine similarity to any line (claimbench.grounding.resolve). Per code system the claim takes
the best code, then the next ones while their score is at least ``threshold``, at most ``max_codes``; ICD-10-CM codes
are moved to the side the note documents and paired CPT codes get its side modifier (claimbench.laterality), as the
lexicon reference does. ``threshold`` and ``max_codes`` are chosen per code system on the validation split
(``claimbench.grounding.reference_selection``: the highest F1 of that component, ties to the smaller setting), on record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from claimbench.claim import Claim, CptLine
from claimbench.grounding.codeset_index import case_years

MIN_LINE_CHARS = 12
THRESHOLDS = tuple(round(0.40 + 0.05 * i, 2) for i in range(12))  # 0.40 .. 0.95
MAX_CODES = (1, 2, 3, 4, 6)
_SENTENCE_END = re.compile(r"(?<=[.;])\s+(?=[A-Z])")
_SURGEON = re.compile(r"^[ \t]*(?:attending[ \t]+)?surgeon[^:\n]*:[ \t]*(?P<name>[^\n]+)$",
                      re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Setting:
    threshold: float
    max_codes: int

    def keep(self, ranked: list) -> list:
        """The best candidate, then the next ones at or above the threshold, at most ``max_codes``."""
        return [c for i, c in enumerate(ranked[: self.max_codes]) if i == 0 or c.score >= self.threshold]


def note_lines(note: str) -> list[str]:
    """The note's lines and sentences long enough to name a finding or a procedure."""
    out = []
    for line in str(note).splitlines():
        out += [s.strip() for s in _SENTENCE_END.split(line) if len(s.strip()) >= MIN_LINE_CHARS]
    return list(dict.fromkeys(out))


def surgeon(note: str) -> str:
    """The provider a reference claim bills under: the note's surgeon line, else "Surgeon"."""
    found = _SURGEON.search(str(note))
    return found["name"].strip() if found else "Surgeon"


def rank_cases(cases, resolvers: Mapping, k: int = max(MAX_CODES)) -> dict[str, list[list]]:
    """Per code system, each case's ``k`` best candidates (its lines as one query), in case order."""
    queries = [note_lines(note) for note in cases["op_note"]]
    fiscal, years = case_years(cases)
    return {"icd10cm": resolvers["icd10cm"].rank_by_year(queries, fiscal, k),
            "cpt": resolvers["cpt"].rank_by_year(queries, years, k)}


def reference_claims(cases, ranked: Mapping[str, list[list]], settings: Mapping[str, Setting],
                     cms_files: Mapping | None = None, cpt_catalog=None) -> list[Claim]:
    """Each case's reference claim from its ranked candidates and the chosen settings per code system."""
    build = ClaimBuilder(cms_files, cpt_catalog)
    fiscal, _ = case_years(cases)
    return [build(record["op_note"], fiscal[i], [c.code for c in settings["icd10cm"].keep(ranked["icd10cm"][i])],
                  [(c.code, c.description) for c in settings["cpt"].keep(ranked["cpt"][i])])
            for i, record in enumerate(cases.to_dict("records"))]


class ClaimBuilder:
    """A claim from a note's chosen codes, as the references without a language model write it: ICD-10-CM codes
    moved to the side the note documents, each CPT line billed under the note's surgeon with the side modifier
    where the code is a paired one (claimbench.laterality)."""

    def __init__(self, cms_files: Mapping | None = None, cpt_catalog=None):
        from claimbench.codesets import cpt_catalog as read_catalog

        catalog = read_catalog(cpt_catalog)
        self.cms_files = cms_files
        self.paired = (set(catalog.loc[catalog["laterality"] == "paired", "cpt"].astype(str))
                       if "laterality" in catalog else set())

    def __call__(self, note: str, fiscal_year: int, icd10: list[str], cpt: list[tuple[str, str]]) -> Claim:
        """``cpt``: (code, description) pairs."""
        from claimbench.laterality import SIDE_MODIFIERS, note_side, side_siblings

        side = note_side(note)
        if side is not None:
            icd10 = side_siblings(fiscal_year, self.cms_files).resolve(icd10, side)
        provider = surgeon(note)
        lines = tuple(CptLine(provider, code, (SIDE_MODIFIERS[side],) if side and code in self.paired else (),
                              description) for code, description in cpt)
        return Claim(icd10=tuple(dict.fromkeys(icd10)), cpt_lines=lines)


def chosen_settings(choice: Mapping | str | Path) -> dict[str, Setting]:
    """The settings ``reference_selection.select_settings`` chose (its record, or the JSON file holding it)."""
    if not isinstance(choice, Mapping):
        choice = json.loads(Path(choice).read_text(encoding="utf-8"))
    return {system: Setting(float(c["threshold"]), int(c["max_codes"])) for system, c in choice["chosen"].items()}
