"""The style-shift check: held-out notes for the same encounters, written by the phrasing bank training never sees.

The synthetic generator writes every encounter's note twice (claimbench.data.synthetic.generate_extract_and_shift):
once with the extract's bank, once with the held-out bank (claimbench.data.phrasing). Both notes document the same
facts, so the gold codes are the same; only the surface forms differ. A configuration's F1 on the shifted notes
beside its F1 on the same encounters' normal notes says how much of its score is the training bank's wording.
Imported by rules/style_shift.smk at parse time: no heavy imports at module level.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def shifted_files(results: str = "results") -> dict[str, str]:
    """A normal prediction input -> its style-shifted counterpart (rules/style_shift.smk writes them)."""
    from claimbench.predict.settings import code_hints_path

    return {
        f"{results}/data/split/test.parquet": f"{results}/data/split/test_shifted.parquet",
        f"{results}/retrieval/neighbours.parquet": f"{results}/retrieval/neighbours_shifted.parquet",
        code_hints_path("test", results): f"{results}/retrieval/code_hints_shifted.parquet",
    }


def shifted_inputs(inputs: Mapping[str, str], results: str = "results") -> dict[str, str]:
    """Rule predict's inputs (claimbench.predict.settings.predict_inputs) with the shifted notes, their neighbours
    and their code hints in place of the normal ones; the model, training split and decoding choice stay."""
    files = shifted_files(results)
    return {key: files.get(path, path) for key, path in inputs.items()}


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
    from claimbench.predict.run import select_cases

    predicted = select_cases(test, n_test_cases, seed)
    return with_shifted_notes(select_cases(predicted, n_shifted_cases, seed), shifted)
