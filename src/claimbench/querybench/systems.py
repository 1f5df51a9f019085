"""The three code systems of paper 003 and how codes are read out of a model's free text.

A *code-shaped string* is a maximal run of letters, digits and dots (surrounding dots stripped) that fully matches
the system's pattern below, case-insensitively. Codes are compared in *normal form*: upper case, dots removed, so
"e11.9", "E11.9" and "E119" are the same code (the dot is formatting, not content).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CodeSystem:
    key: str  # config / file-name key
    name: str  # the name the paper's prompt uses for <code system>
    pattern: re.Pattern  # full-match pattern of one code-shaped string
    example_code: str  # the prompt's <sample code>; kept out of the sample so echoing it never scores


SYSTEMS: dict[str, CodeSystem] = {
    s.key: s
    for s in (
        # 3 digits, or V + 2 digits, or E + 3 digits; then up to 2 more digits, dotted or not (250.00, V45.1, E849.0)
        CodeSystem("icd9cm", "ICD-9-CM", re.compile(r"(?:\d{3}|V\d{2}|E\d{3})(?:\.?\d{1,2})?", re.I), "250.00"),
        # letter, digit, alphanumeric; then up to 4 alphanumerics, dotted or not (E11.9, S72.001A, E119)
        CodeSystem("icd10cm", "ICD-10-CM", re.compile(r"[A-Z]\d[0-9A-Z](?:\.?[0-9A-Z]{1,4})?", re.I), "E11.9"),
        # 5 characters: 4 digits + digit (Category I), F (II), T (III) or U (PLA)
        CodeSystem("cpt", "CPT", re.compile(r"\d{4}[0-9FTU]", re.I), "99213"),
    )
}

_RUN = re.compile(r"[A-Za-z0-9.]+")


def normalize(code: str) -> str:
    """Normal form used for every comparison: upper case, no dots, no surrounding space."""
    return code.strip().upper().replace(".", "")


def extract_codes(text: str | None, system: CodeSystem) -> list[str]:
    """Every code-shaped string in ``text``, in order, repeats kept, in normal form. ``None`` or junk -> []."""
    if not text:
        return []
    found = []
    for run in _RUN.findall(text):
        run = run.strip(".")
        if run and system.pattern.fullmatch(run):
            found.append(normalize(run))
    return found


def predicted_code(text: str | None, system: CodeSystem) -> str | None:
    """The response's answer: the first code-shaped string after the format's "Code:" marker if there is one,
    otherwise the first in the whole response; ``None`` when there is none."""
    if not text:
        return None
    marker = re.search(r"code\s*:", text, re.I)
    if marker:
        after = extract_codes(text[marker.end() :], system)
        if after:
            return after[0]
    codes = extract_codes(text, system)
    return codes[0] if codes else None
