"""The coded notes as one HTML page in the case browser's style (claimbench.report.case_browser): each note beside
its claim, codes marked valid or fabricated, the evidence a code cites highlighted in its note line."""

from __future__ import annotations

from collections.abc import Mapping


def _lines(note: str, claim: Mapping) -> list[dict]:
    """The note's lines (numbered from 0, as paper 002's evidence cites them), each with the text a code cites."""
    cited = {}
    for code in claim["icd10"]:
        evidence = code.get("evidence")
        if evidence and evidence["found_in_note"]:
            cited.setdefault(evidence["line"], evidence["text"])
    out = []
    for number, text in enumerate(note.split("\n")):
        quote = cited.get(number)
        if quote:
            before, _, after = text.partition(quote)
            out.append({"text": text, "cited": quote, "before": before, "after": after})
        else:
            out.append({"text": text, "cited": None})
    return out


def _flags(claim: Mapping) -> list[str]:
    return [flag for flag, on in (("no claim read", not claim["parsed"]), ("token cap", claim["hit_token_cap"]),
                                  ("loop stopped", claim["loop_stopped"])) if on]


def render_page(claims: list[Mapping], notes: Mapping[str, str], title: str) -> str:
    from claimbench.report.case_browser import templates

    shown = []
    for claim in claims:
        fabricated = sum(not c["valid"] for c in claim["icd10"])
        fabricated += sum(not line["valid"] for line in claim["cpt_lines"])
        fabricated += sum(not m["valid"] for line in claim["cpt_lines"] for m in line["modifiers"])
        shown.append({**claim, "lines": _lines(notes[claim["encounter_id"]], claim), "flags": _flags(claim),
                      "n_fabricated": fabricated})
    return templates().get_template("coded_notes.html.j2").render(title=title, claims=shown)
