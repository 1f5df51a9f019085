"""Prediction files of the description-grounded configurations, in the paper's claim layout.

- ``ground_prediction_file``: a ``describe`` configuration's answers (descriptions) resolved to codes; each record's
  ``generated_text`` becomes the resolved claim (claimbench.claim.render_claim), so the evaluation scores it
  unchanged, and the model's own words stay in ``description_text`` with the resolution in ``grounding``.
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


def ground_prediction_file(path: str | Path, meta_path: str | Path, cases, index_path: str | Path,
                           settings: Mapping) -> dict:
    """Resolve every answer of a ``describe`` prediction file in place (and add the facts to its meta)."""
    from claimbench.grounding.codeset_index import case_years
    from claimbench.grounding.describe import ground_answer

    started = time.perf_counter()
    resolvers = load_resolvers(index_path, settings)
    k = int(settings.get("candidates", 5))
    rows = {str(e): i for i, e in enumerate(cases["encounter_id"])}
    fiscal, years = case_years(cases)
    records = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    n_codes = 0
    for record in records:
        i = rows[str(record["encounter_id"])]
        claim, trail = ground_answer(record["generated_text"], fiscal[i], years[i],
                                     lambda system, q, year, n: resolvers[system].rank(q, year, n), k=k)
        record["description_text"] = record["generated_text"]
        record["generated_text"] = render_claim(claim)
        record["grounding"] = trail
        n_codes += len(trail)
    _rewrite(path, records)
    facts = {"grounding": {"choice": "nearest", "candidates": k, "shortlist": settings.get("shortlist"),
                           "descriptions_resolved": n_codes,
                           "seconds": round(time.perf_counter() - started, 3)}}
    _update_meta(meta_path, facts)
    return facts


def predict_reference(name: str, conf: Mapping, cases, n_test: int, out: str | Path, meta_out: str | Path,
                      index_path: str | Path, choice_path: str | Path) -> dict:
    """The no-LM reference's prediction file and meta (claimbench.grounding.reference)."""
    from claimbench.grounding.reference import chosen_settings, rank_cases, reference_claims
    from claimbench.predict.run import _base_meta, _summary, _write_meta
    from claimbench.prompts import prompt_sha256

    started = time.perf_counter()
    settings = conf.get("grounding") or {}
    codesets = conf.get("codesets") or {}
    ranked = rank_cases(cases, load_resolvers(index_path, settings))
    chosen = chosen_settings(choice_path)
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
