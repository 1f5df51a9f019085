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


def first_examples(config: Mapping, name: str, neighbours: Mapping[str, list[str]], hints=None) -> dict[str, str]:
    """case -> the training encounter whose claim configuration ``name`` saw first: the TF-IDF neighbour of the hint
    file for configurations shown lexical neighbours (prompt rag_lexicon, knn with the lexicon), else the nearest
    embedding neighbour (the claim knn answers with, and rag shows first)."""
    from claimbench.predict.run import hint_neighbours
    from claimbench.prompts import HINTS_KIND

    conf = config["configurations"][name]
    if hints is not None and (conf.get("prompt") == HINTS_KIND or conf.get("icd10") == "lexicon"):
        neighbours = hint_neighbours(hints, neighbours)
    return {eid: ids[0] for eid, ids in neighbours.items() if ids}


def copying_frame(config: Mapping, prediction_files: Mapping[str, str], test, train, neighbours_file: str,
                  hints_file: str | None, index_file: str) -> "pd.DataFrame":
    """Rule copying_table: ``copy_table`` of every configuration's test predictions, with the operation named
    (descriptions resolved against the CPT catalog of the index, claimbench.grounding.resolve)."""
    import json
    from pathlib import Path

    import pandas as pd

    from claimbench.grounding.codeset_index import case_years
    from claimbench.grounding.predict import load_resolvers
    from claimbench.retrieval import neighbour_ids

    neighbours = neighbour_ids(pd.read_parquet(neighbours_file), 1)
    resolver = load_resolvers(index_file, {**(config.get("grounding") or {}),
                                           "embedder": (config.get("retrieval") or {}).get("embedder")})["cpt"]
    rows = []
    for name, path in prediction_files.items():
        records = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
        ids = {str(r["encounter_id"]) for r in records}
        cases = test[test["encounter_id"].astype(str).isin(ids)].reset_index(drop=True)
        year = dict(zip(cases["encounter_id"].astype(str), case_years(cases)[1]))

        def resolve_cpt(descriptions, eid):
            return [c[0].code for c in resolver.rank([[d] for d in descriptions], year[eid], 1) if c]

        first = first_examples(config, name, neighbours, hints_file)
        rows += copy_table({name: records}, cases, first, train, resolve_cpt)
    frame = pd.DataFrame(rows)
    frame["copied_cases"] = frame["copied_cases"].map(" ".join)
    return frame
