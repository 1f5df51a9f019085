"""One coded note as a reviewer reads it: the answer parsed as the evaluation parses it (the configuration's task),
each code with its description and whether it is valid for the note's fiscal year (ICD-10-CM), surgery year (CPT
catalog) or the modifier list, as claimbench.evaluation.validity counts a fabricated code; for paper 002's JSON claims,
each code's cited evidence line and text. ``csv_rows`` flattens the claims to one row per code."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from claimbench import codesets
from claimbench.evaluation.validity import ReferenceSets
from claimbench.task import task_of


class Descriptions:
    """Code descriptions and reference sets of config ``codesets`` (the run's), each loaded once."""

    def __init__(self, sets: Mapping | None = None):
        sets = dict(sets or {})
        self.icd10cm_files = sets.get("icd10cm_files") or {}
        self.refs = ReferenceSets(sets.get("cpt_catalog"), sets.get("modifiers"), self.icd10cm_files)
        catalog = codesets.cpt_catalog(sets.get("cpt_catalog"))
        self.cpt = dict(zip(catalog["cpt"], catalog["description"]))
        self.modifiers = codesets.modifier_codes(sets.get("modifiers"))
        self.icd10cm = lru_cache(maxsize=None)(lambda year: codesets.icd10cm_descriptions(int(year),
                                                                                          self.icd10cm_files))


def _icd(code: str, year: int, names: Descriptions) -> dict:
    return {"code": code, "description": names.icd10cm(year).get(code),
            "valid": code in names.refs.icd10cm(year)}


def _cpt(code: str, provider: str | None, modifiers, year: int, names: Descriptions) -> dict:
    return {"provider": provider, "cpt": code, "description": names.cpt.get(code),
            "valid": code in names.refs.cpt(year),
            "modifiers": [{"modifier": m, "description": names.modifiers.get(m), "valid": m in names.refs.modifiers}
                          for m in modifiers]}


def coded_claim(settings: Mapping, note: Mapping, prediction: Mapping, names: Descriptions) -> dict:
    """The output record of one note: its answer, the claim read from it, flags and time."""
    text = prediction.get("generated_text")
    fiscal_year, year = int(note["fiscal_year"]), int(str(note["surgery_date"])[:4])
    parsed = task_of(settings).parse(text)
    record = {"encounter_id": str(note["encounter_id"]), "configuration": prediction.get("configuration"),
              "surgery_date": note["surgery_date"], "fiscal_year": fiscal_year, "answer": text}
    if hasattr(parsed, "claim"):  # paper 002's JSON claim: codes with their rationale and cited note line
        claim = parsed.claim or {"icd10": [], "cpt": []}
        lines = str(note["op_note"]).split("\n")
        icd10 = []
        for entry in claim["icd10"]:
            cited = entry["evidence"]
            line = int(cited["line"])
            found = 0 <= line < len(lines) and bool(cited["text"]) and cited["text"] in lines[line]
            icd10.append({**_icd(entry["code"], fiscal_year, names), "rationale": entry["rationale"],
                          "evidence": {"line": line, "text": cited["text"], "found_in_note": found}})
        cpt = [{**_cpt(entry["code"], None, (), year, names), "rationale": entry["rationale"]}
               for entry in claim["cpt"]]
        record.update(parsed=parsed.ok, parse_error=parsed.message or None)
    else:
        icd10 = [{**_icd(code, fiscal_year, names), "evidence": None} for code in parsed.icd10]
        cpt = [_cpt(line.cpt, line.provider or None, line.modifiers, year, names) for line in parsed.cpt_lines]
        record.update(parsed=bool(icd10 or cpt), parse_error=None if icd10 or cpt else "no claim could be read")
    record.update(icd10=icd10, cpt_lines=cpt, hit_token_cap=bool(prediction.get("hit_max_new_tokens")),
                  loop_stopped=bool(prediction.get("loop_written_out")),
                  seconds=float(prediction.get("seconds") or 0.0))
    return record


CSV_COLUMNS = ("encounter_id", "configuration", "surgery_date", "fiscal_year", "system", "provider", "code",
               "modifiers", "description", "valid", "evidence_line", "evidence_text", "parsed", "hit_token_cap",
               "loop_stopped", "seconds")


def csv_rows(claims: list[dict]) -> list[dict]:
    """One row per code (ICD-10-CM code, CPT line); a note without any code gets one row with empty code columns,
    so that every note is listed."""
    rows = []
    for claim in claims:
        head = {key: claim[key] for key in ("encounter_id", "configuration", "surgery_date", "fiscal_year")}
        tail = {key: claim[key] for key in ("parsed", "hit_token_cap", "loop_stopped", "seconds")}
        codes = [{"system": "ICD-10-CM", "provider": None, "code": c["code"], "modifiers": "",
                  "description": c["description"], "valid": c["valid"],
                  "evidence_line": (c.get("evidence") or {}).get("line"),
                  "evidence_text": (c.get("evidence") or {}).get("text")} for c in claim["icd10"]]
        codes += [{"system": "CPT", "provider": c["provider"], "code": c["cpt"],
                   "modifiers": ",".join(m["modifier"] for m in c["modifiers"]), "description": c["description"],
                   "valid": c["valid"] and all(m["valid"] for m in c["modifiers"]), "evidence_line": None,
                   "evidence_text": None} for c in claim["cpt_lines"]]
        rows += [{**head, **code, **tail} for code in codes] or [{**head, **tail}]
    return rows
