"""Phrasing banks: the many ways a dictated note says one coded finding, procedure or modifier fact.

The coding policy (coding_policy.yaml) words each concept in one or two fixed ways; a bank (phrasing.yaml) rewrites
that wording per mention — synonyms, abbreviations and eponyms, reordered phrases, minor typos — and supplies the
sentences for sides, assistants, returns to the OR, diagnoses told in prose and procedures named in the technique.
The generator decides a mention's surface form first and searches the finished note for that form, so every form is
evidence-linked. Two banks never share a rewrite: ``training`` writes the extract, ``held_out`` writes the
style-shifted test notes (claimbench.data.shift), which training never sees.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

PHRASING_FILE = Path(__file__).with_name("phrasing.yaml")
BANKS = ("plain", "training", "held_out")


def _rewriter(table: dict) -> tuple[re.Pattern | None, dict[str, list[str]]]:
    """One alternation of the table's keys, longest first (so "lymph nodes" wins over "lymph node"), whole words."""
    if not table:
        return None, {}
    keys = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w/])(?:" + "|".join(re.escape(k) for k in keys) + r")(?![\w/])", re.IGNORECASE)
    return pattern, {k.lower(): list(v) for k, v in table.items()}


def _match_case(original: str, replacement: str) -> str:
    """Keep a capital start ("Laparoscopic" -> "Lap") and an all-capitals word as written."""
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper() and replacement[:1].islower():
        return replacement[0].upper() + replacement[1:]
    return replacement


def typo(text: str, kind: str, r: random.Random) -> str:
    """One minor typist's error inside the longest word (its first and last letter kept, so it stays readable)."""
    words = list(re.finditer(r"[A-Za-z]{6,}", text))
    if not words:
        return text
    word = max(words, key=lambda m: len(m.group(0)))
    w = word.group(0)
    i = r.randrange(1, len(w) - 2)
    if kind == "swap":
        new = w[:i] + w[i + 1] + w[i] + w[i + 2:]
    elif kind == "drop":
        new = w[:i] + w[i + 1:]
    elif kind == "double":
        new = w[:i] + w[i] + w[i:]
    elif kind == "split":
        new = w[:i + 1] + " " + w[i + 1:]
    else:
        raise ValueError(f"phrasing.yaml: unknown typo kind {kind!r} (swap, drop, double, split)")
    return text[:word.start()] + new + text[word.end():]


@dataclass
class PhrasingBank:
    """One bank of phrasing.yaml. Every draw takes the caller's seeded ``random.Random``."""

    name: str
    spec: dict

    def __post_init__(self):
        self._synonyms = _rewriter(self.spec.get("synonyms") or {})
        self._prose = _rewriter(self.spec.get("prose") or {})
        self._reorders = [(re.compile(rule["pattern"]), rule["to"], float(rule["p"]))
                          for rule in self.spec.get("reorder") or []]

    def _rewrite(self, text: str, rewriter, p: float, r: random.Random) -> str:
        pattern, table = rewriter
        if pattern is None:
            return text

        def one(match: re.Match) -> str:
            if r.random() >= p:
                return match.group(0)
            return _match_case(match.group(0), r.choice(table[match.group(0).lower()]))

        return pattern.sub(one, text)

    def surface(self, phrase: str, r: random.Random) -> str:
        """How this note writes a coded phrase: verbatim with chance ``keep``, else rewritten by the bank."""
        if not self.spec or r.random() < float(self.spec.get("keep", 1.0)):
            return phrase
        text = self._rewrite(phrase, self._synonyms, float(self.spec.get("synonym_p", 0.0)), r)
        for pattern, to, p in self._reorders:
            if pattern.search(text) and r.random() < p:
                text = pattern.sub(to, text)
                break  # one reordering: a second would undo or garble the first
        spec = self.spec.get("typo") or {}
        if spec and r.random() < float(spec["p"]):
            text = typo(text, r.choice(spec["kinds"]), r)
        return text.strip() or phrase

    def prose(self, sentence: str, r: random.Random) -> str:
        """Boilerplate and procedure steps in the bank's wording (never applied to a coded phrase)."""
        return self._rewrite(sentence, self._prose, float(self.spec.get("prose_p", 0.0)), r)

    def words(self, field: str, default: dict) -> dict:
        """A table of the bank (sides, eyes, assistant_roles), or the writer's default where the bank has none."""
        return self.spec.get(field) or default

    def sentences(self, field: str, default: list[str]) -> list[str]:
        return self.spec.get(field) or default

    def chance(self, field: str) -> float:
        return float(self.spec.get(field, 0.0))

    def headings(self, base: dict[str, list[str]]) -> dict[str, list[str]]:
        """Heading variants per section: the bank's own (replacing the policy's), or the policy's plus additions."""
        if self.spec.get("headings"):
            return {key: list(self.spec["headings"].get(key) or base[key]) for key in base}
        extra = self.spec.get("add_headings") or {}
        return {key: list(values) + list(extra.get(key, [])) for key, values in base.items()}


@cache
def _banks(path: Path) -> dict:
    with open(path) as handle:
        return yaml.safe_load(handle)["banks"]


def load_bank(name: str, path: Path = PHRASING_FILE) -> PhrasingBank:
    banks = _banks(Path(path))
    if name not in banks:
        raise ValueError(f"{path}: no phrasing bank {name!r} (banks: {', '.join(banks)})")
    return PhrasingBank(name, banks[name] or {})
