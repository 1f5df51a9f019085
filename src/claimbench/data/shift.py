"""The style-shift check: held-out notes for the same encounters, written by the phrasing bank training never sees.

The synthetic generator writes every encounter's note twice (claimbench.data.synthetic.generate_extract_and_shift):
once with the extract's bank, once with the held-out bank (claimbench.data.phrasing). Both notes document the same
facts, so the gold codes are the same; only the surface forms differ. A configuration's F1 on the shifted notes
beside its F1 on the same encounters' normal notes says how much of its score is the training bank's wording.
The shifted files' paths are planned by claimbench.plan.style_shift.
"""

from __future__ import annotations

import pandas as pd


def with_shifted_notes(cases: pd.DataFrame, shifted: pd.DataFrame) -> pd.DataFrame:
    """``cases`` with ``op_note`` and ``icd10_evidence`` taken from ``shifted`` (same encounter_id); every other
    field, the gold codes included, is the case's own."""
    notes = shifted.set_index(shifted["encounter_id"].astype(str))
    ids = cases["encounter_id"].astype(str)
    missing = sorted(set(ids) - set(notes.index))
    if missing:
        raise ValueError(f"no style-shifted note for {len(missing)} encounter(s), e.g. {missing[0]!r}")
    out = cases.copy()
    out["op_note"] = notes.loc[ids, "op_note"].tolist()
    out["icd10_evidence"] = [None if items is None else [dict(item) for item in items]
                             for items in notes.loc[ids, "icd10_evidence"]]
    return out.reset_index(drop=True)


def shifted_test(test: pd.DataFrame, shifted: pd.DataFrame, n_test_cases: int | None, n_shifted_cases: int | None,
                 seed: int) -> pd.DataFrame:
    """The style-shifted test set: a seeded sample of ``n_shifted_cases`` of the test cases every configuration
    predicts (``predict.n_test_cases``; null = all of them), with their held-out notes."""
    from claimbench.data.split import select_cases

    predicted = select_cases(test, n_test_cases, seed)
    return with_shifted_notes(select_cases(predicted, n_shifted_cases, seed), shifted)
