"""Laterality (beyond the paper, for the code hints of ``claimbench.lexicon``): which side an operative note
documents, and each ICD-10-CM code's counterpart for another side.

Why: the training split's lexicon maps a phrase ("trigger thumb") to the codes coders gave it, and those are often
one side's code only (M65.311, right thumb) while the note at hand is a left one (M65.312). At the default size this
is the commonest ICD-10-CM error of the fine-tuned model and of the lexicon alone (docs/decisions.md). The side comes
from the note's words; the counterpart from the code set's own descriptions, so it also
gives a side code no training claim holds.

- ``note_side``: "R", "L" or "B" (bilateral) from the side words of the note (right/left/bilateral, OD/OS/OU), or
  None when the note names none or right and left equally often. "left" as a verb ("a stent was left in place") is
  not a side. On the default run's 240 training notes (measured 2026-12-02), of those whose claim carries one side
  modifier (RT, LT or 50), it agrees with that modifier in 167 of 179 (none found in 5).
- ``SideSiblings``: code -> {side: code}, from descriptions that differ only in the word right/left/bilateral
  ("Age-related nuclear cataract, right eye" / "..., left eye"). A code without such siblings maps to itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

SIDE_WORDS = {"R": "right", "L": "left", "B": "bilateral"}
SIDE_MODIFIERS = {"R": "RT", "L": "LT", "B": "50"}  # the CPT modifiers of a sided procedure

_NOTE_PATTERNS = {
    "R": re.compile(r"\b(?:right|right-sided|od)\b"),
    "L": re.compile(r"\b(?:left|left-sided|os)\b"),
    "B": re.compile(r"\b(?:bilateral|bilaterally|both sides|both eyes|ou)\b"),
}
_LEFT_AS_VERB = re.compile(r"\b(?:was|were|is|are|be|been)\s+left\b|\bleft\s+in\s+(?:place|situ)\b")
_DESCRIPTION_SIDE = re.compile(r"\b(?:right|left|bilateral)\b")


def note_side(note: str) -> str | None:
    """The side the note documents: "B" if it says bilateral anywhere, else the commoner of right and left; None
    when it names no side or both equally often."""
    text = _LEFT_AS_VERB.sub(" ", str(note).lower())
    if _NOTE_PATTERNS["B"].search(text):
        return "B"
    right, left = (len(_NOTE_PATTERNS[s].findall(text)) for s in ("R", "L"))
    if right == left:
        return None
    return "R" if right > left else "L"


class SideSiblings:
    """Each lateral code's counterparts by side: the codes whose descriptions differ only in the side words.

    Two ways of naming a side are matched, the first that gives one code per side wins: the side word alone
    ("..., right knee" / "..., left knee", plurals ignored: "right eyelid" / "bilateral eyelids"), and an eye or ear
    named with it ("..., right eye" / "..., bilateral")."""

    _KEYS = (
        re.compile(r"\b(right|left|bilateral)\b"),
        re.compile(r"\b(right|left)\s+(?:eye|ear)\b|\b(bilateral)\b"),
    )

    def __init__(self, descriptions: Mapping[str, str]):
        groups: list[dict[str, dict[str, list[str]]]] = [{} for _ in self._KEYS]
        keyed: dict[str, list[str | None]] = {}
        for code, text in descriptions.items():
            low = str(text).lower()
            if not _DESCRIPTION_SIDE.search(low):
                continue
            keyed[code] = []
            for pattern, group in zip(self._KEYS, groups):
                found = pattern.findall(low)
                if len(found) != 1:
                    keyed[code].append(None)
                    continue
                word = next(w for w in found[0] if w) if isinstance(found[0], tuple) else found[0]
                key = " ".join(w.rstrip("s") for w in pattern.sub("<side>", low).split())
                group.setdefault(key, {}).setdefault(word, []).append(code)
                keyed[code].append(key)
        self.siblings: dict[str, dict[str, str]] = {}
        for code, keys in keyed.items():
            found = {}
            for key, group in zip(keys, groups):
                for side, word in SIDE_WORDS.items():
                    codes = group.get(key, {}).get(word, []) if key else []
                    if side not in found and len(codes) == 1:
                        found[side] = codes[0]
            self.siblings[code] = found

    def to_side(self, code: str, side: str | None) -> str:
        """``code``'s counterpart for ``side``; the code itself when it has none (or ``side`` is None)."""
        return self.siblings.get(code, {}).get(side, code) if side else code

    def resolve(self, codes: Iterable[str], side: str | None) -> list[str]:
        """Each code moved to ``side``, order kept, repeats dropped (right and left codes both become one)."""
        return list(dict.fromkeys(self.to_side(code, side) for code in codes))


def with_side_modifier(modifiers: Iterable[str], side: str | None) -> tuple[str, ...]:
    """A CPT line's modifiers with its side modifier (RT, LT or 50) replaced by ``side``'s; a line without one, or
    ``side`` None, is kept as it is."""
    modifiers = tuple(modifiers)
    if side is None or not set(modifiers) & set(SIDE_MODIFIERS.values()):
        return modifiers
    kept = [m for m in modifiers if m not in SIDE_MODIFIERS.values()]
    return (*kept, SIDE_MODIFIERS[side])


@lru_cache(maxsize=None)
def _siblings(fy: int, cms_items: tuple) -> SideSiblings:
    from claimbench.codesets import icd10cm_descriptions

    return SideSiblings(icd10cm_descriptions(fy, dict(cms_items)))


def side_siblings(fiscal_year: int, cms_files: Mapping | None = None) -> SideSiblings:
    """The siblings of fiscal year ``fiscal_year``'s code set (``codesets.icd10cm_files`` for years not shipped)."""
    from claimbench.codesets import _freeze

    return _siblings(int(fiscal_year), _freeze(cms_files))
