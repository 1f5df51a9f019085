"""Copying, measured (beyond the paper): does a configuration read the note, or repeat an example claim?

- ``copy_table``: per configuration, in how many answers the CPT codes are exactly those of the case's first
  example claim (its nearest training note's: the claim rag-style prompts show first and knn answers with), and in
  how many of those that claim was right (its CPT codes the gold ones); with the cases' ids for ``claimbench trace``.
- ``names_operation``: whether an answer's own words name the right operation: one of its procedure descriptions
  resolves (nearest CPT catalog description, claimbench.grounding.resolve) to a gold CPT code or to one of its
  family (the same first three digits: 669xx are the lens operations, 274xx knee repairs). For a ``describe``
  answer its descriptions; for an answer in the paper's layout its lines' "Description:" fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_DESCRIPTION = re.compile(r"\bCPT\b[^\n]*?\|[ \t]*Description:[ \t]*(?P<text>[^|\n]+)", re.IGNORECASE)


def cpt_family(code: str) -> str:
    return str(code)[:3]


def answer_descriptions(record: Mapping) -> list[str]:
    """The procedure descriptions an answer wrote in its own words."""
    if record.get("grounding"):
        return [step["description"] for step in record["grounding"] if step["system"] == "cpt"]
    return [m["text"].strip() for m in _DESCRIPTION.finditer(str(record.get("generated_text") or ""))]


def names_operation(resolved: list[str], gold: set[str]) -> bool:
    """Whether one of the codes the descriptions resolve to is a gold code or in a gold code's family."""
    families = {cpt_family(c) for c in gold}
    return any(code in gold or cpt_family(code) in families for code in resolved)


def copy_table(predictions: Mapping[str, list[dict]], cases, first_example: Mapping[str, str], train,
               resolve_cpt=None) -> list[dict]:
    """One row per configuration (``predictions``: name -> its prediction records). ``first_example``: case ->
    the training encounter whose claim it was shown first; ``resolve_cpt(descriptions, case_id)`` -> the nearest
    codes (None: the operation column is left out)."""
    from claimbench.evaluation.parse import parse_claim

    gold = {str(r["encounter_id"]): {line["cpt"] for line in r["cpt_lines"]} for r in cases.to_dict("records")}
    shown = {str(r["encounter_id"]): {line["cpt"] for line in r["cpt_lines"]} for r in train.to_dict("records")}
    rows = []
    for name, records in predictions.items():
        copied, copied_right, named, described, ids = 0, 0, 0, 0, []
        for record in records:
            eid = str(record["encounter_id"])
            example = shown.get(first_example.get(eid, ""), None)
            codes = set(parse_claim(record.get("generated_text")).cpt_codes)
            if example is not None and codes and codes == example:
                copied += 1
                copied_right += example == gold[eid]
                ids.append(eid)
            descriptions = answer_descriptions(record)
            if resolve_cpt is not None and descriptions:
                described += 1
                named += names_operation(resolve_cpt(descriptions, eid), gold[eid])
        row = {"configuration": name, "n_cases": len(records), "cpt_copied": copied,
               "copied_and_right": copied_right, "copied_cases": ids}
        if resolve_cpt is not None:
            row.update({"answers_describing": described, "names_operation": named})
        rows.append(row)
    return rows
