"""The no-LM reference's settings chosen on the validation notes (rule select_grounding_reference): per code system
the ``threshold`` and ``max_codes`` of the highest F1, scored as the evaluation scores. Apart from
claimbench.grounding.reference so that rule predict's code version does not take in the evaluation modules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from claimbench.grounding.reference import MAX_CODES, THRESHOLDS, Setting, rank_cases, reference_claims


def select_settings(validation, ranked: Mapping[str, list[list]], cms_files: Mapping | None = None,
                    cpt_catalog=None) -> dict:
    """Per code system the setting of the highest validation F1 of its component (paper 000's F1, the evaluation's
    own scoring), ties to the lower threshold and fewer codes; with every candidate's F1, on record."""
    from claimbench.claim import render_claim
    from claimbench.evaluation.cases import score_cases
    from claimbench.evaluation.metrics import summarize_codes
    from claimbench.evaluation.validity import ReferenceSets

    import pandas as pd

    refs = ReferenceSets(cpt_catalog, None, cms_files)
    grid = [Setting(t, m) for m in MAX_CODES for t in THRESHOLDS]
    component = {"icd10cm": "icd10", "cpt": "cpt"}
    ids = validation["encounter_id"].astype(str).tolist()
    records = []
    for setting in grid:
        claims = reference_claims(validation, ranked, {"icd10cm": setting, "cpt": setting}, cms_files, cpt_catalog)
        predictions = pd.DataFrame({"encounter_id": ids, "generated_text": [render_claim(c) for c in claims]})
        f1 = summarize_codes(score_cases(validation, predictions, refs, scorer=None)).set_index("component")["f1"]
        records.append({"threshold": setting.threshold, "max_codes": setting.max_codes,
                        **{system: round(float(f1[component[system]]), 4) for system in component}})
    chosen = {}
    for system in component:
        best = max(records, key=lambda r: (r[system], -r["threshold"], -r["max_codes"]))
        chosen[system] = {"threshold": best["threshold"], "max_codes": best["max_codes"], "f1": best[system]}
    return {"criterion": "per code system, the highest F1 of its component on the validation notes",
            "n_validation_cases": len(ids), "chosen": chosen, "candidates": records}


def write_choice(validation, index_path: str | Path, settings: Mapping, codesets: Mapping | None,
                 out: str | Path) -> dict:
    """Rule select_grounding_reference: rank the validation notes, choose the settings, write the record."""
    from claimbench.grounding.predict import load_resolvers

    codesets = dict(codesets or {})
    ranked = rank_cases(validation, load_resolvers(index_path, settings))
    record = select_settings(validation, ranked, codesets.get("icd10cm_files"), codesets.get("cpt_catalog"))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record
