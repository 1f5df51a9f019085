"""Decoding settings chosen on the validation split, automatically and on record (beyond the paper's fixed ones).

A configuration may list candidate values of generation settings (``configurations.<name>.tune_decoding``, e.g.
``{repetition_penalty: [1.1, 1.0]}``). Each combination generates claims for the same seeded sample of validation
notes; the one with the highest mean of ICD-10-CM and CPT F1 (paper 000's metrics) wins, ties going to the earlier
candidate (list the paper's value first). The record of every candidate goes to a JSON file that rule ``predict``
reads; the test split is never an input.

Why it matters: the paper's repetition penalty (1.1) penalises every token already in the prompt. A model that is
shown its neighbours' claims (rag, retrieval-augmented fine-tuning) is then pushed away from copying a correct code
and towards an invented one.
"""

from __future__ import annotations

import itertools
import json
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)


def candidates(tune: Mapping[str, list]) -> list[dict]:
    """Every combination of the listed values, in list order (the first combination first)."""
    keys = list(tune)
    return [dict(zip(keys, values)) for values in itertools.product(*(tune[k] for k in keys))]


def select_decoding(name: str, conf: Mapping, validation: pd.DataFrame, model_dir: str | Path,
                    examples: Mapping[str, list[str]] | None, tune: Mapping[str, list], n_cases: int | None,
                    seed: int, out: str | Path, codesets: Mapping | None = None) -> dict:
    """Score each candidate on the validation sample; write and return ``{"chosen": {...}, "candidates": [...]}``."""
    from claimbench.evaluation.cases import read_predictions, score_cases
    from claimbench.evaluation.metrics import summarize_codes
    from claimbench.evaluation.validity import ReferenceSets
    from claimbench.data.split import select_cases
    from claimbench.predict.run import predict_llm

    cases = select_cases(validation, n_cases, seed)  # the same seeded sampling as the test cases
    codesets = dict(codesets or {})
    refs = ReferenceSets(cpt_catalog=codesets.get("cpt_catalog"), modifiers=codesets.get("modifiers"),
                         icd10cm_files=codesets.get("icd10cm_files"))
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for number, values in enumerate(candidates(tune)):
            trial = {**conf, "generation": {**conf.get("generation", {}), **values}}
            path = Path(tmp) / f"candidate{number}.jsonl"
            meta = predict_llm(name, trial, cases, len(validation), path, path.with_suffix(".meta.json"), model_dir,
                               examples, progress=False)
            scored = score_cases(cases, read_predictions(path), refs, scorer=None)
            summary = summarize_codes(scored).set_index("component")["f1"]
            score = float((summary["icd10"] + summary["cpt"]) / 2)
            records.append({"settings": values, "score": score, "f1": {k: float(v) for k, v in summary.items()},
                            "seconds": meta.get("elapsed_seconds")})
            log.info("%s %s: validation F1 ICD-10-CM %.3f, CPT %.3f", name, values, summary["icd10"], summary["cpt"])
    return write_choice(out, name, cases, records, "settings")


def write_choice(out: str | Path, name: str, cases, records: list[dict], key: str) -> dict:
    """The record of a choice made on validation notes (written to ``out`` and returned): every candidate with its
    score, and the ``key`` of the best (mean of ICD-10-CM and CPT F1; the first of equal scores)."""
    best = max(records, key=lambda r: r["score"])  # max keeps the first of equal scores
    result = {"configuration": name, "criterion": "mean of ICD-10-CM and CPT F1 on the validation sample",
              "n_validation_cases": len(cases), "case_ids": [str(e) for e in cases["encounter_id"]],
              "chosen": best[key], "candidates": records}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


def apply_choice(conf: Mapping, choice_path: str | Path | None) -> dict:
    """The configuration with the chosen decoding settings merged into its generation settings."""
    conf = dict(conf)
    if choice_path:
        chosen = json.loads(Path(choice_path).read_text(encoding="utf-8"))["chosen"]
        conf["generation"] = {**conf.get("generation", {}), **chosen}
        conf["decoding_chosen_on_validation"] = chosen
    return conf
