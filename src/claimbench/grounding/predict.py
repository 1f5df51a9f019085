"""Prediction files of the description-grounded configurations, in the paper's claim layout.

- ``ground_prediction_file``: a ``describe`` configuration's answers (descriptions) resolved to codes; each record's
  ``generated_text`` becomes the resolved claim (claimbench.claim.render_claim), so the evaluation scores it
  unchanged, and the model's own words stay in ``description_text`` with the resolution in ``grounding``.
- ``select_choice``: the final code among a description's top candidates (the nearest, the note's or the model's
  choice), chosen on validation notes (rule select_grounding_choice).
- ``predict_reference``: the no-LM reference (method ``grounded``): each case's note lines resolved to codes with
  the settings chosen on the validation split.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

from claimbench.claim import render_claim


def load_resolvers(index_path: str | Path, settings: Mapping) -> dict:
    """Code system -> Resolver over rule codeset_index's cached table (config ``grounding``: embedder, shortlist,
    batch_size)."""
    from claimbench.grounding.codeset_index import load_codesets
    from claimbench.grounding.resolve import Resolver
    from claimbench.retrieval import load_embedder

    embedder = load_embedder(settings.get("embedder"))
    return {system: Resolver(codeset, embedder, settings.get("shortlist"), int(settings.get("batch_size", 64)))
            for system, codeset in load_codesets(index_path).items()}


# the final code among a description's top candidates (claimbench.grounding.choice); ties go to the earlier
CHOICES = ("nearest", "note", "model")


def ground_records(records: list[dict], cases, resolvers: Mapping, k: int, choice: str = "nearest",
                   model_dir: str | Path | None = None, load: Mapping | None = None) -> int:
    """Resolve each ``describe`` answer in place: ``generated_text`` becomes the claim in the paper's layout, the
    answer moves to ``description_text``, the resolution to ``grounding``. ``choice`` "model" loads the model of
    ``model_dir`` to choose among the top ``k`` (claimbench.grounding.choice). Returns the descriptions resolved."""
    from claimbench.grounding.codeset_index import case_years
    from claimbench.grounding.describe import build_prompt, ground_answer

    if choice not in CHOICES:
        raise ValueError(f"grounding choice {choice!r}: expected one of {CHOICES}")
    model = tokenizer = None
    if choice == "model":
        from claimbench.models.loading import LoadSettings, load_for_inference

        model, tokenizer = load_for_inference(model_dir, LoadSettings(**(load or {})))
    rows = {str(e): i for i, e in enumerate(cases["encounter_id"])}
    notes = cases["op_note"].tolist()
    fiscal, years = case_years(cases)
    n = 0
    for record in records:
        i, answer = rows[str(record["encounter_id"])], record["generated_text"]
        chooser = None
        if choice == "model":
            from claimbench.grounding.choice import ModelChooser

            chooser = ModelChooser(model, tokenizer, build_prompt(notes[i], tokenizer), answer)
        elif choice == "note":
            from claimbench.grounding.choice import NoteChooser

            chooser = NoteChooser(resolvers, notes[i])
        claim, trail = ground_answer(answer, fiscal[i], years[i],
                                     lambda system, q, year, m: resolvers[system].rank(q, year, m), chooser, k)
        record.update(description_text=answer, generated_text=render_claim(claim), grounding=trail)
        n += len(trail)
    return n


def ground_prediction_file(path: str | Path, meta_path: str | Path, cases, index_path: str | Path,
                           settings: Mapping, choice: str = "nearest", model_dir: str | Path | None = None,
                           load: Mapping | None = None) -> dict:
    """Resolve every answer of a ``describe`` prediction file in place (and add the facts to its meta)."""
    started = time.perf_counter()
    k = int(settings.get("candidates", 5))
    records = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    n = ground_records(records, cases, load_resolvers(index_path, settings), k, choice, model_dir, load)
    _rewrite(path, records)
    facts = {"grounding": {"choice": choice, "candidates": k, "shortlist": settings.get("shortlist"),
                           "descriptions_resolved": n, "seconds": round(time.perf_counter() - started, 3)}}
    _update_meta(meta_path, facts)
    return facts


def select_choice(name: str, conf: Mapping, validation, model_dir: str | Path, n_cases: int | None, seed: int,
                  index_path: str | Path, out: str | Path) -> dict:
    """The final code choice (``CHOICES``), chosen on a seeded sample of validation notes (the same sample rule
    select_decoding uses): the highest mean of ICD-10-CM and CPT F1 wins, ties to the earlier (the nearest first);
    every candidate's scores on record in ``out``. The test split is never read."""
    import tempfile

    import pandas as pd

    from claimbench.data.split import select_cases
    from claimbench.evaluation.cases import score_cases
    from claimbench.evaluation.metrics import summarize_codes
    from claimbench.evaluation.validity import ReferenceSets
    from claimbench.predict.decoding import write_choice
    from claimbench.predict.run import predict_llm

    cases = select_cases(validation, n_cases, seed)
    settings, codesets = conf.get("grounding") or {}, conf.get("codesets") or {}
    refs = ReferenceSets(codesets.get("cpt_catalog"), codesets.get("modifiers"), codesets.get("icd10cm_files"))
    resolvers = load_resolvers(index_path, settings)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.jsonl"
        predict_llm(name, conf, cases, len(validation), path, path.with_suffix(".meta.json"), model_dir, None,
                    progress=False)
        answers = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = []
    for choice in CHOICES:
        started = time.perf_counter()
        resolved = [dict(a) for a in answers]
        ground_records(resolved, cases, resolvers, int(settings.get("candidates", 5)), choice, model_dir,
                       conf.get("load"))
        frame = pd.DataFrame(resolved)[["encounter_id", "generated_text"]]
        f1 = summarize_codes(score_cases(cases, frame, refs, scorer=None)).set_index("component")["f1"]
        records.append({"choice": choice, "score": float((f1["icd10"] + f1["cpt"]) / 2),
                        "f1": {c: round(float(v), 4) for c, v in f1.items()},
                        "seconds": round(time.perf_counter() - started, 2)})
    return write_choice(out, name, cases, records, "choice")


def predict_reference(name: str, conf: Mapping, cases, n_test: int, out: str | Path, meta_out: str | Path,
                      index_path: str | Path, choice_path: str | Path, anchors: str | Path | None = None) -> dict:
    """The no-LM reference's prediction file and meta (claimbench.grounding.reference; with ``anchors``, rule
    evidence_anchors' file, the training split's evidence as anchors too: claimbench.grounding.evidence)."""
    from claimbench.predict.run import _base_meta, _summary, _write_meta
    from claimbench.prompts import prompt_sha256

    started = time.perf_counter()
    settings = conf.get("grounding") or {}
    codesets = conf.get("codesets") or {}
    record = json.loads(Path(choice_path).read_text(encoding="utf-8"))
    if anchors is not None:
        from claimbench.grounding import evidence

        coder = evidence.EvidenceCoder(index_path, settings, codesets, anchors=anchors)
        chosen = evidence.chosen_settings(record)
        claims = coder.claims(cases, coder.scores(cases, sorted({s.k for s in chosen.values()})), chosen)
    else:
        from claimbench.grounding.reference import chosen_settings, rank_cases, reference_claims

        ranked = rank_cases(cases, load_resolvers(index_path, settings))
        chosen = chosen_settings(record)
        claims = reference_claims(cases, ranked, chosen, codesets.get("icd10cm_files"), codesets.get("cpt_catalog"))
    records = [{"encounter_id": str(eid), "configuration": name, "model": conf.get("model_label"),
                "prompt_sha256": prompt_sha256(str(note)), "generated_text": render_claim(claim),
                "n_prompt_tokens": 0, "n_new_tokens": 0, "seconds": 0.0}
               for eid, note, claim in zip(cases["encounter_id"], cases["op_note"], claims)]
    _rewrite(out, records)
    meta = _base_meta(name, conf, cases, n_test)
    meta.update(_summary(records))
    meta.update({"wall_seconds": round(time.perf_counter() - started, 3), "tokens_per_second": None,
                 "settings_chosen_on_validation": {s: vars(v) for s, v in chosen.items()}})
    _write_meta(meta_out, meta)
    return meta


def _rewrite(path: str | Path, records: list[dict]) -> None:
    from claimbench.atomic import write_text

    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def _update_meta(meta_path: str | Path, facts: Mapping) -> None:
    from claimbench.predict.run import _write_meta

    meta = json.loads(Path(meta_path).read_text(encoding="utf-8"))
    _write_meta(meta_path, {**meta, **facts})
