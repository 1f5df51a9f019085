"""Score one configuration's predictions case by case: parse, match against the coder's claim, check validity, and
compare the text with the training-format claim. One row per test encounter; the summaries are means of its columns.

Every test encounter is scored, whether or not the configuration answered it: a missing or malformed prediction line
is an empty answer, scored as wrong (``missing_prediction`` says which). Prediction lines for encounters that are not
in the test split are ignored and counted in the log; a repeated encounter id keeps its first line (the prediction
writer never repeats one, so a repeat means a damaged file and is logged).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from claimbench.claim import Claim, render_claim
from claimbench.codesets import fiscal_year
from claimbench.evaluation.metrics import ALL_COMPONENTS, component_sets, score_case
from claimbench.evaluation.parse import normalize_cpt, normalize_icd10, normalize_modifier, parse_claim
from claimbench.evaluation.structure import StructureScorer
from claimbench.evaluation.validity import ReferenceSets, case_validity

log = logging.getLogger(__name__)


def plain(value):
    """numpy arrays (as parquet list columns come back) -> lists, recursively; other values unchanged."""
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def read_predictions(path: str | Path) -> pd.DataFrame:
    """encounter_id, generated_text of a prediction JSONL. Unreadable lines are logged and skipped (their encounters
    then count as unanswered); an empty file gives an empty frame."""
    rows, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                rows.append({"encounter_id": str(record["encounter_id"]), "generated_text": record.get("generated_text")})
            except (ValueError, KeyError, TypeError) as error:
                bad += 1
                log.warning("%s line %d unreadable (%s): its encounter counts as unanswered", path, number, error)
    if bad:
        log.warning("%s: %d unreadable line(s)", path, bad)
    return pd.DataFrame(rows, columns=["encounter_id", "generated_text"])


def read_meta(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def gold_claim(record: dict) -> Claim:
    return Claim.from_record(plain({"icd10": record.get("icd10"), "cpt_lines": record.get("cpt_lines")}))


def gold_sets(claim: Claim) -> dict[str, frozenset]:
    # Gold codes are read the way generated ones are (idempotent on clean data); a gold code the normaliser would
    # reject is kept as written, so the gold set never loses a code.
    icd = [normalize_icd10(c) or c.strip().upper() for c in claim.icd10]
    lines = [
        (normalize_cpt(line.cpt) or line.cpt.strip().upper(), [normalize_modifier(m) or m.strip().upper() for m in line.modifiers])
        for line in claim.cpt_lines
    ]
    return component_sets(icd, lines)


def score_cases(
    test: pd.DataFrame,
    predictions: pd.DataFrame,
    refs: ReferenceSets,
    scorer: StructureScorer | None,
) -> pd.DataFrame:
    """One row per test encounter (in test order) with the parsed and gold code sets, per-component precision /
    recall / full match, validity counts, and (with a scorer) ROUGE-L, ROUGE-Lsum and METEOR."""
    test_ids = set(test["encounter_id"].astype(str))
    extra = predictions.loc[~predictions["encounter_id"].isin(test_ids), "encounter_id"]
    if len(extra):
        log.warning("%d prediction(s) for encounters not in the test split ignored, e.g. %s", len(extra), extra.iloc[0])
    repeated = predictions["encounter_id"].duplicated()
    if repeated.any():
        log.warning("%d repeated encounter id(s) in predictions; first line kept", int(repeated.sum()))
    generated = predictions.loc[~repeated].set_index("encounter_id")["generated_text"].to_dict()

    rows = []
    for record in test.to_dict("records"):
        encounter = str(record["encounter_id"])
        missing = encounter not in generated
        text = None if missing else generated[encounter]
        parsed = parse_claim(text)
        predicted = component_sets(parsed.icd10, [(line.cpt, line.modifiers) for line in parsed.cpt_lines])
        claim = gold_claim(record)
        gold = gold_sets(claim)
        surgery_date = str(record["surgery_date"])
        fy = int(record["fiscal_year"]) if record.get("fiscal_year") is not None else fiscal_year(surgery_date)
        year = int(surgery_date[:4])
        row = {
            "encounter_id": encounter,
            "service": record.get("service", ""),
            "fiscal_year": fy,
            "year": year,
            "missing_prediction": missing,
            "has_icd_section": parsed.has_icd_section,
            "has_cpt_section": parsed.has_cpt_section,
            "n_cpt_lines": len(parsed.cpt_lines),
        }
        for component in ALL_COMPONENTS:
            row[f"pred_{component}"] = sorted(predicted[component])
            row[f"gold_{component}"] = sorted(gold[component])
        row.update(score_case(predicted, gold))
        row.update(
            case_validity(predicted["icd10"], predicted["cpt"], predicted["modifier_set"], fy, year, refs)
        )
        if scorer is not None:
            row.update(scorer.score(text, render_claim(claim)))
        rows.append(row)
    return pd.DataFrame(rows)
