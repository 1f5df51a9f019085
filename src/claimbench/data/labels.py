"""From a synthetic note's written content to its evidence-linked labels: each policy phrase's surface form, the
facts the note documents, and each label's evidence line and span (paper 002), in the extract's note and in its
style-shifted counterpart."""

from __future__ import annotations

import random

from claimbench.data.dictation import NoteFacts, find_evidence


def surface_forms(bank, r: random.Random):
    """A note's phrase -> surface form function: each policy phrase gets one form from the bank, drawn on its first
    use, so a finding named in the header and again in the history reads the same in both places."""
    chosen: dict[str, str] = {}

    def surface(phrase: str) -> str:
        if phrase not in chosen:
            chosen[phrase] = bank.surface(phrase, r)
        return chosen[phrase]

    return surface


def note_facts(content: dict, mentions: dict, surface) -> NoteFacts:
    """What the note documents, every coded mention and procedure name in its surface form (``surface``); mentions
    the generator left unwritten (a documentation gap) are not in it."""
    unwritten = mentions["unwritten"]
    findings = mentions["findings"]

    def written(items: list[dict]) -> list[str]:
        return [surface(item["phrase"]) for item in items if item["phrase"] and item["phrase"] not in unwritten]

    indications = [c for c in mentions["candidates"] if c["why"].startswith("indication")]
    return NoteFacts(
        procedures=[{**proc, "name": surface(proc["name"])} for proc in mentions["procedures"]],
        indications=written(indications) or ["the documented condition"],
        header_findings=written([f for f in findings if f["section"] == "header"]),
        history=written(mentions["mentioned"] + [f for f in findings if f["section"] == "history"])
        + mentions["history"],
        social=written([f for f in findings if f["section"] == "social"]),
        nursing=written([f for f in findings if f["section"] == "nursing"]),
        **content,
    )


def shifted_evidence(labels: list[dict], note: str, surface) -> list[dict]:
    """The evidence of the same labels in the encounter's style-shifted note (every label the extract kept is
    written there too, in the other bank's form: a label not found is a generator fault, never skipped)."""
    lines = note.split("\n")
    evidence = []
    for label in labels:
        found = find_evidence(lines, surface(label["phrase"]))
        if found is None:
            raise AssertionError(f"style-shifted note lost the evidence of {label['code']} ({label['phrase']!r})")
        evidence.append({"code": label["code"], "line": found[0], "text": found[1]})
    return evidence


def resolve_labels(candidates: list[dict], note: str, surface=lambda phrase: phrase) -> tuple[list[dict], list[dict]]:
    """(labels kept, each with its evidence {line, text}; labels discarded, each with its reason), in candidate order.

    A label is kept when it has a code valid in the fiscal year and its phrase, in the surface form the note wrote
    (``surface``), is in the note (the first line that has it, whole words, any case); a code already kept is not
    repeated. ``phrase`` stays the policy's wording; ``written`` is the note's."""
    lines = note.split("\n")
    kept, discarded = [], []
    for candidate in candidates:
        found = None
        if candidate["code"] is None:
            reason = "no_valid_code_in_fiscal_year"
        elif candidate["code"] in [k["code"] for k in kept]:
            reason = "duplicate_code"
        elif (found := find_evidence(lines, surface(candidate["phrase"]))) is None:
            reason = "no_evidence_in_note"
        if found:
            kept.append({**candidate, "written": found[1], "evidence": {"line": found[0], "text": found[1]}})
        else:
            discarded.append({**candidate, "reason": reason})
    return kept, discarded
