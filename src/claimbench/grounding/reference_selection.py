"""The no-LM reference's settings chosen on the validation notes (rule select_grounding_reference): per code system
the ``threshold`` and ``max_codes`` of the highest F1, scored as the evaluation scores. Apart from
claimbench.grounding.reference so that rule predict's code version does not take in the evaluation modules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from claimbench.grounding.reference import MAX_CODES, THRESHOLDS, Setting, rank_cases, reference_claims

COMPONENTS = {"icd10cm": "icd10", "cpt": "cpt"}  # code system -> its component of the evaluation


def select_settings(validation, ranked: Mapping[str, list[list]], cms_files: Mapping | None = None,
                    cpt_catalog=None) -> dict:
    """Per code system the setting of the highest validation F1 of its component (paper 000's F1, the evaluation's
    own scoring), ties to the lower threshold and fewer codes; with every candidate's F1, on record."""
    grid = [Setting(t, m) for m in MAX_CODES for t in THRESHOLDS]
    return best_per_system(
        validation, grid,
        lambda s: reference_claims(validation, ranked, {"icd10cm": s, "cpt": s}, cms_files, cpt_catalog),
        lambda r: (-r["threshold"], -r["max_codes"]), cms_files, cpt_catalog)


def best_per_system(validation, grid: list, claims_for, tie_break, cms_files: Mapping | None = None,
                    cpt_catalog=None) -> dict:
    """Score every setting of ``grid`` (a dataclass; ``claims_for(setting)``: the validation notes' claims under it)
    as the evaluation scores, and choose per code system the setting of the highest F1 of its component, ties by
    ``tie_break(record)`` (higher wins); with every candidate's F1, on record. Each code system's codes depend only
    on its own part of a setting, so one grid serves both."""
    from dataclasses import asdict

    import pandas as pd

    from claimbench.claim import render_claim
    from claimbench.evaluation.cases import score_cases
    from claimbench.evaluation.metrics import summarize_codes
    from claimbench.evaluation.validity import ReferenceSets

    refs = ReferenceSets(cpt_catalog, None, cms_files)
    ids = validation["encounter_id"].astype(str).tolist()
    records = []
    for setting in grid:
        predictions = pd.DataFrame({"encounter_id": ids,
                                    "generated_text": [render_claim(c) for c in claims_for(setting)]})
        f1 = summarize_codes(score_cases(validation, predictions, refs, scorer=None)).set_index("component")["f1"]
        records.append({**asdict(setting),
                        **{system: round(float(f1[component]), 4) for system, component in COMPONENTS.items()}})
    chosen = {}
    for system in COMPONENTS:
        best = max(records, key=lambda r: (r[system], *tie_break(r)))
        chosen[system] = {**{k: best[k] for k in asdict(grid[0])}, "f1": best[system]}
    return {"criterion": "per code system, the highest F1 of its component on the validation notes",
            "n_validation_cases": len(ids), "chosen": chosen, "candidates": records}


def write_choice(validation, index_path: str | Path, settings: Mapping, codesets: Mapping | None,
                 out: str | Path, anchors: str | Path | None = None) -> dict:
    """Rule select_grounding_reference: rank the validation notes, choose the settings, write the record. With
    ``anchors`` (rule evidence_anchors' file) the anchors are the training split's evidence too
    (claimbench.grounding.evidence)."""
    from claimbench.grounding.predict import load_resolvers

    codesets = dict(codesets or {})
    if anchors is not None:
        from claimbench.grounding.evidence import EvidenceCoder, select_settings as select_evidence_settings

        record = select_evidence_settings(EvidenceCoder(index_path, settings, codesets, anchors=anchors), validation)
    else:
        ranked = rank_cases(validation, load_resolvers(index_path, settings))
        record = select_settings(validation, ranked, codesets.get("icd10cm_files"), codesets.get("cpt_catalog"))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record
