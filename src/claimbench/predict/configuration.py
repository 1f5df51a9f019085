"""One configuration over a list of notes: the method's dispatch (rule predict's and paper 002's entry point).

``predict_configuration`` takes any notes (the test split's selected cases, or notes that were never in a split) and
whatever the configuration reads besides them: the training split and the notes' nearest training notes for the
retrieval methods and example-showing prompts, the code hints for ``rag_lexicon`` and ``icd10: lexicon``, the code
sets' description index and the validation-chosen settings for the description-grounded configurations.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import json

import pandas as pd

from claimbench.grounding.predict import ground_prediction_file, predict_reference
from claimbench.plan.grounding import DESCRIBE_KIND, uses_training_evidence
from claimbench.plan.methods import GROUNDED_METHOD
from claimbench.predict.run import (
    hint_neighbours,
    lexicon_claims,
    predict_api,
    predict_knn,
    predict_llm,
    prompt_examples,
    with_grammar_limits,
)
from claimbench.retrieval import neighbour_ids


def predict_configuration(name: str, conf: Mapping, notes: pd.DataFrame, n_total: int, out: str | Path,
                          meta_out: str | Path, model_dir: str | Path | None = None,
                          train: pd.DataFrame | None = None, neighbours: pd.DataFrame | None = None,
                          hints: str | Path | None = None, side_hints: bool = False,
                          icd10cm_files: Mapping | None = None, data_source: str | None = None,
                          codeset_index: str | Path | None = None, reference_choice: str | Path | None = None,
                          grounding_choice: str | Path | None = None, anchors: str | Path | None = None,
                          progress: bool = True) -> dict:
    """Predict every note of ``notes`` (encounter_id, op_note, surgery_date[, fiscal_year]) with configuration
    ``name`` (settings as ``claimbench.plan.predict.resolve`` gives them); write the prediction file ``out`` and its
    meta ``meta_out``. Returns the meta.

    ``n_total``: how many notes the selection was drawn from (recorded in the meta). ``model_dir``: the model of an
    LLM configuration. ``train``: the training split (example claims; a constrained configuration's grammar limits).
    ``neighbours``: the notes' nearest training notes (the table of rule retrieval_neighbours). ``hints``: the code
    hints file. ``side_hints``, ``icd10cm_files``: config retrieval.side_hints and codesets.icd10cm_files, for
    ``icd10: lexicon``. ``data_source``: config data.source (the api configuration refuses real notes unless
    allowed). ``codeset_index``: rule codeset_index's table, for method ``grounded`` (with ``reference_choice``, its
    settings chosen on validation, and ``anchors``, rule evidence_anchors' file, where it reads the training
    evidence) and prompt ``describe`` (with ``grounding_choice``, its final code choice).
    """
    conf = with_grammar_limits(conf, train)  # constrained configurations: bounds from config or the training split
    examples = None
    if neighbours is not None:
        nearest = neighbour_ids(neighbours, 1 if conf["method"] == "knn" else int(conf.get("k", 2)))
        if conf.get("icd10") == "lexicon":  # knn reference with the lexicon's ICD-10-CM codes (and its neighbours)
            nearest = hint_neighbours(hints, nearest)
            examples = lexicon_claims(nearest, train, notes, side_hints, icd10cm_files)
        else:
            examples = prompt_examples(conf.get("prompt"), nearest, train, hints)
    if conf["method"] == GROUNDED_METHOD:  # beyond the paper: the note's lines resolved to codes (claimbench.grounding)
        return predict_reference(name, conf, notes, n_total, out, meta_out, codeset_index, reference_choice,
                                 anchors if uses_training_evidence(conf) else None)
    if conf["method"] == "knn":
        return predict_knn(name, conf, notes, n_total, out, meta_out, examples)
    if conf["method"] == "api":
        return predict_api(name, conf, notes, n_total, out, meta_out, data_source, examples)
    meta = predict_llm(name, conf, notes, n_total, out, meta_out, model_dir, examples, progress=progress)
    if conf.get("prompt") == DESCRIBE_KIND:  # the descriptions resolved to codes, the final choice made on validation
        choice = json.loads(Path(grounding_choice).read_text(encoding="utf-8"))["chosen"]
        meta = {**meta, **ground_prediction_file(out, meta_out, notes, codeset_index, conf["grounding"], choice,
                                                 model_dir, conf.get("load"))}
    return meta


def predict_from_inputs(name: str, settings: Mapping, notes: pd.DataFrame, n_total: int, out: str | Path,
                        meta_out: str | Path, inputs: Mapping[str, str], model_dir: str | Path | None = None,
                        side_hints: bool = False, codesets: Mapping | None = None, data_source: str | None = None,
                        progress: bool = True) -> dict:
    """``predict_configuration`` from rule predict's files: ``inputs`` maps its input names (``train``,
    ``neighbours``, ``hints``, ``decoding``, ``codeset_index``, ``reference_choice``, ``grounding_choice``,
    ``anchors``: those the configuration has) to paths, as ``plan.predict.predict_inputs`` names them. The decoding
    settings chosen on the validation split (``decoding``) are applied to ``settings``. Rule predict and
    ``claimbench.coding`` (new notes) both predict through here."""
    from claimbench.data.io import read_encounters
    from claimbench.predict.decoding import apply_choice

    return predict_configuration(
        name,
        apply_choice(settings, inputs.get("decoding")),
        notes,
        n_total,
        out,
        meta_out,
        model_dir=model_dir,
        train=read_encounters(inputs["train"]) if inputs.get("train") else None,
        neighbours=pd.read_parquet(inputs["neighbours"]) if inputs.get("neighbours") else None,
        hints=inputs.get("hints"),
        side_hints=side_hints,
        icd10cm_files=(codesets or {}).get("icd10cm_files"),
        data_source=data_source,
        codeset_index=inputs.get("codeset_index"),
        reference_choice=inputs.get("reference_choice"),
        grounding_choice=inputs.get("grounding_choice"),
        anchors=inputs.get("anchors"),
        progress=progress,
    )
