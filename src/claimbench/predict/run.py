"""Each method's run over a list of notes: prompts, generation (or retrieval, or the API), prediction files.

``claimbench.predict.configuration.predict_configuration`` picks the method of a configuration. Methods:
- ``base``: the base model with the paper's base prompt;
- ``rag``: the base model with the RAG prompt holding the claims of the k nearest training notes;
- ``qlora``: the fine-tuned model (adapter merged, results/finetune/<name>/merged) with the fine-tuned prompt;
- ``knn``: no LLM: the claim of the nearest training note is the prediction (beyond the paper);
- ``api``: an OpenAI-compatible endpoint, refused unless enabled (see claimbench.predict.api).

An LLM configuration with ``constrained: claim_grammar`` (beyond the paper) decodes under the claim grammar of each
case's fiscal year and surgery year (claimbench.models.claim_grammar): the claim layout, and only valid codes.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from claimbench.claim import Claim, render_claim
from claimbench.codesets import fiscal_year
from claimbench.plan.methods import LLM_PROMPTS
from claimbench.predict.store import PredictionStore, model_identity, run_key
from claimbench.prompts import EXAMPLE_KINDS, HINTS_KIND, detect_family, messages, prompt_sha256
from claimbench.task import task_of

log = logging.getLogger(__name__)


def example_claims(neighbours: Mapping[str, list[str]], train: pd.DataFrame) -> dict[str, list[str]]:
    """test encounter -> the rendered claims of its nearest training notes (the RAG prompt's examples)."""
    claims = {str(r["encounter_id"]): render_claim(Claim.from_record(r)) for r in train.to_dict("records")}
    return {eid: [claims[n] for n in ids] for eid, ids in neighbours.items()}


def lexicon_claims(neighbours: Mapping[str, list[str]], train: pd.DataFrame, queries: pd.DataFrame,
                   sides: bool = False, cms_files: Mapping | None = None) -> dict[str, list[str]]:
    """A reference beyond the paper (knn with ``icd10: lexicon``): each query's nearest training claim with its
    ICD-10-CM codes replaced by the training split's lexicon's answer for the query note (claimbench.lexicon), so
    the report shows what the code hints alone give, without a language model. With ``sides`` (as the hints of
    retrieval.side_hints) the codes are moved to the side the note documents, and so are the claim's side
    modifiers (RT, LT, 50; claimbench.laterality)."""
    from dataclasses import replace

    from claimbench.laterality import with_side_modifier
    from claimbench.lexicon import CodeLexicon, best_codes

    records = train.to_dict("records")
    lexicon = CodeLexicon.from_records(records)
    claims = {str(r["encounter_id"]): Claim.from_record(r) for r in records}
    out = {}
    for query in queries.to_dict("records"):
        eid, note = str(query["encounter_id"]), query["op_note"]
        if eid not in neighbours:
            continue
        claim = claims[neighbours[eid][0]]
        hints, side = lexicon.sided_hints(note, eid, query.get("fiscal_year"), cms_files, sides)
        lines = tuple(replace(line, modifiers=with_side_modifier(line.modifiers, side)) for line in claim.cpt_lines)
        out[eid] = [render_claim(replace(claim, icd10=tuple(best_codes(hints)), cpt_lines=lines))]
    return out


def hint_neighbours(hints: str | Path, neighbours: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """``neighbours`` with each list replaced by as many of the hint file's lexical neighbours (column
    ``neighbours``, written with config retrieval.hint_neighbours or training_hint_neighbours: lexical), where the
    file has them for that note (a note listed without them keeps its embedding neighbours)."""
    return _lexical_neighbours(pd.read_parquet(hints), neighbours)


def _lexical_neighbours(table: pd.DataFrame, neighbours: Mapping[str, list[str]]) -> dict[str, list[str]]:
    if "neighbours" not in table:
        return dict(neighbours)
    lexical = {str(eid): [str(n) for n in ids] for eid, ids in zip(table["encounter_id"], table["neighbours"])
               if ids is not None and len(ids)}
    return {eid: lexical[eid][: len(ids)] if eid in lexical else ids for eid, ids in neighbours.items()}


def prompt_examples(kind: str | None, neighbours: Mapping[str, list[str]], train: pd.DataFrame,
                    hints: str | Path | None = None) -> dict[str, list[str]]:
    """What a prompt kind shows for each query encounter: its neighbours' claims, and for ``rag_lexicon`` (beyond the
    paper) its code-hint block as the last item, read from ``hints`` (the Parquet file of rule code_hints or
    finetune_code_hints: encounter_id, hints[, neighbours]; claimbench.lexicon). Where that file lists lexical
    neighbours, their claims are shown instead of the embedding neighbours'."""
    if kind != HINTS_KIND:
        return example_claims(neighbours, train)
    if hints is None:
        raise ValueError("prompt kind rag_lexicon needs the code hints file (rules/retrieval.smk, code_hints)")
    table = pd.read_parquet(hints)
    blocks = dict(zip(table["encounter_id"].astype(str), table["hints"]))
    missing = sorted(set(neighbours) - set(blocks))
    if missing:
        raise ValueError(f"{hints}: no code hints for {len(missing)} encounter(s), e.g. {missing[:3]}")
    examples = example_claims(_lexical_neighbours(table, neighbours), train)
    return {eid: [*shown, blocks[eid]] for eid, shown in examples.items()}


def _write_meta(path: str | Path, meta: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(meta, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def _summary(records: list[dict]) -> dict:
    seconds = sum(r.get("seconds") or 0.0 for r in records)
    new = sum(r.get("n_new_tokens") or 0 for r in records)
    return {
        "n_cases": len(records),
        "wall_seconds": round(seconds, 3),
        "n_new_tokens": int(new),
        "n_prompt_tokens": int(sum(r.get("n_prompt_tokens") or 0 for r in records)),
        "tokens_per_second": round(new / seconds, 3) if seconds > 0 and new else None,
        "seconds_per_case": round(seconds / len(records), 4) if records else None,
    }


def _base_meta(name: str, conf: Mapping, cases: pd.DataFrame, n_test: int) -> dict:
    return {
        "configuration": name,
        "method": conf["method"],
        "model": conf.get("model_label") or conf.get("model"),
        "stands_in_for": conf.get("stands_in_for"),
        "run": True,
        "reason": None,
        "n_test_total": n_test,
        "case_ids": [str(e) for e in cases["encounter_id"]],
    }


def _llm_key(name: str, conf: Mapping, model_dir: str | Path) -> tuple[str, str, str]:
    """(partial-file key, prompt kind, prompt family) of an LLM configuration run."""
    from claimbench.models.generation import GenerationSettings
    from claimbench.models.loading import LoadSettings

    gen = GenerationSettings(**conf.get("generation", {}))
    load = LoadSettings(**conf.get("load", {}))
    kind = conf.get("prompt") or LLM_PROMPTS[conf["method"]]
    family = detect_family(model_dir, conf.get("prompt_family"))
    # Batch size and device are left out of the key: batched output equals one-at-a-time output, so a rerun may
    # change the batch size, and a data-parallel rerun may place cases on other GPUs.
    decoding = {k: v for k, v in asdict(gen).items() if k != "batch_size"}
    loading = {k: v for k, v in asdict(load).items() if k != "device"}
    parts = [name, kind, family, decoding, loading, model_identity(model_dir)]
    if conf.get("constrained"):  # only then: unconstrained configurations keep their keys (and partial files)
        parts.append(_constraint(conf))
    return run_key(*parts), kind, family


def _constraint(conf: Mapping) -> dict:
    """What a constrained configuration's output depends on beyond the unconstrained settings."""
    from claimbench.models.claim_grammar import CONSTRAINTS, GrammarLimits

    if conf["constrained"] not in CONSTRAINTS:
        raise ValueError(f"configuration {conf.get('name', '')!r}: constrained is {conf['constrained']!r}; "
                         f"expected one of {list(CONSTRAINTS)} or null")
    limits = GrammarLimits(**(conf.get("grammar") or {}))
    return {"constrained": conf["constrained"], "limits": asdict(limits), "codesets": conf.get("codesets")}


def with_grammar_limits(conf: Mapping, train: pd.DataFrame | None) -> dict:
    """A constrained configuration's settings with its grammar limits made concrete (config ``predict.grammar``; with
    ``from_training``, the training split's largest claims), so the run key and the meta record the bounds used."""
    from claimbench.models.claim_grammar import GrammarLimits

    if not conf.get("constrained"):
        return dict(conf)
    claims = train.to_dict("records") if train is not None else ()
    return {**conf, "grammar": asdict(GrammarLimits.from_settings(conf.get("grammar"), claims))}


def case_grammars(conf: Mapping, cases: pd.DataFrame, model, tokenizer) -> tuple[list, dict]:
    """One compiled claim grammar per case (its fiscal year's ICD-10-CM, its surgery year's CPT catalog), compiling
    only the fiscal years among ``cases``; and facts for the meta file."""
    from claimbench.evaluation.validity import ReferenceSets
    from claimbench.models.claim_grammar import ClaimGrammars, GrammarLimits, tokenizer_info
    from claimbench.models.generation import stop_token_ids

    codesets = conf.get("codesets") or {}
    refs = ReferenceSets(codesets.get("cpt_catalog"), codesets.get("modifiers"), codesets.get("icd10cm_files"))
    info = tokenizer_info(tokenizer, model.get_output_embeddings().weight.shape[0], stop_token_ids(model, tokenizer))
    grammars = ClaimGrammars(info, refs, GrammarLimits(**(conf.get("grammar") or {})))
    dates = [str(d)[:10] for d in cases["surgery_date"]]
    fiscal_years = cases["fiscal_year"].astype(int).tolist() if "fiscal_year" in cases else [fiscal_year(d) for d in dates]
    compiled = grammars.for_cases(fiscal_years, [int(d[:4]) for d in dates])
    facts = {"constrained": conf["constrained"], "grammar_limits": asdict(grammars.limits),
             "grammar_builds": grammars.timings,
             "grammar_seconds": round(sum(t["seconds"] for t in grammars.timings), 3)}
    return compiled, facts


def generate_cases(name: str, conf: Mapping, cases: pd.DataFrame, out: str | Path, model_dir: str | Path,
                   examples: Mapping[str, list[str]] | None = None, shard: int | None = None, n_shards: int = 1,
                   device: str | None = None, progress: bool = True) -> tuple[PredictionStore, dict]:
    """Generate every case of this process's share not yet in the partial files; append batch by batch.

    ``shard``/``n_shards``: data-parallel runs give process r the cases r, r + n, r + 2n, ... (None: all cases).
    Returns the store (not finalized) and facts about the run for the meta file.
    """
    import torch

    from claimbench.models.generation import GenerationSettings, generate
    from claimbench.models.loading import LoadSettings, load_for_inference

    gen = GenerationSettings(**conf.get("generation", {}))
    load = LoadSettings(**{**conf.get("load", {}), **({"device": device} if device else {})})
    key, kind, family = _llm_key(name, conf, model_dir)
    store = PredictionStore(out, key, shard)

    started = time.perf_counter()
    model, tokenizer = load_for_inference(model_dir, load)
    load_seconds = time.perf_counter() - started
    ids = [str(e) for e in cases["encounter_id"]]
    mine = ids if shard is None else ids[shard::n_shards]
    notes = dict(zip(ids, cases["op_note"]))
    task = task_of(conf, kind)
    prompts = {eid: task.prompt(notes[eid], (examples or {}).get(eid), family, tokenizer) for eid in mine}
    hashes = {eid: prompt_sha256(p) for eid, p in prompts.items()}
    todo = [eid for eid in mine if not store.done(eid, hashes[eid])]
    grammars, grammar_facts = None, {}
    if conf.get("constrained"):  # (an unknown value was refused by _llm_key above)
        rows = cases.set_index(cases["encounter_id"].astype(str)).loc[todo]
        grammars, grammar_facts = case_grammars(conf, rows, model, tokenizer)
    log.info("%s%s: %d case(s), %d already done, %d to generate (%s prompt, %s layout, batch %d, max %d new tokens)",
             name, "" if shard is None else f" shard {shard}/{n_shards}", len(mine), len(mine) - len(todo),
             len(todo), kind, family, gen.batch_size, gen.max_new_tokens)
    started = time.perf_counter()
    for batch in generate(model, tokenizer, [prompts[e] for e in todo], gen, progress=progress, grammars=grammars):
        store.append(
            {
                "encounter_id": todo[g.index],
                "configuration": name,
                "model": conf.get("model_label") or conf.get("model"),
                "prompt_sha256": hashes[todo[g.index]],
                "generated_text": g.text,
                "n_prompt_tokens": g.n_prompt_tokens,
                "n_new_tokens": g.n_new_tokens,
                "seconds": round(g.seconds, 4),
                "batch_seconds": round(g.batch_seconds, 4),
                "batch_size": g.batch_size,
                "hit_max_new_tokens": g.n_new_tokens >= gen.max_new_tokens,
                "loop_written_out": g.loop_written_out,
            }
            for g in batch
        )
    facts = {
        "model_dir": str(model_dir),
        "prompt": kind,
        "prompt_family": family,
        # How the prompt was laid out: Phi-3's special tokens, the model's chat template, or the plain fallback.
        "prompt_layout": "phi3 special tokens" if family == "phi3" else (
            "chat template" if getattr(tokenizer, "chat_template", None) else "plain (no chat template)"),
        "resumed_cases": len(mine) - len(todo),
        "load_seconds": round(load_seconds, 3),
        "elapsed_seconds": round(time.perf_counter() - started, 3),
        "generation": asdict(gen),
        "load": asdict(load),
        "torch_threads": torch.get_num_threads(),
        "device": str(next(model.parameters()).device),
        "machine": platform.processor() or platform.machine(),
        **grammar_facts,
    }
    return store, facts


def predict_llm(name: str, conf: Mapping, cases: pd.DataFrame, n_test: int, out: str | Path, meta_out: str | Path,
                model_dir: str | Path, examples: Mapping[str, list[str]] | None = None, progress: bool = True) -> dict:
    """Generate every case (resuming a killed run), then write the ordered prediction file and its meta.

    With ``conf["launch"]`` naming an accelerate config, the cases are split across ``num_processes`` processes
    (one model copy per GPU, as in the paper) by ``claimbench.predict.worker``; otherwise they run in this process.
    """
    from claimbench.models.attention import available_attention
    from claimbench.models.launch import uses_accelerate

    # flash_attention_2 where it can run, else sdpa with a note (meta: attention_note). Resolved before the run key,
    # so that a later run with flash-attn regenerates instead of resuming sdpa outputs.
    attn, attention_note = available_attention((conf.get("load") or {}).get("attn_implementation"))
    if attention_note:
        conf = {**conf, "load": {**conf["load"], "attn_implementation": attn}}
    launch = conf.get("launch") or {}
    ids = [str(e) for e in cases["encounter_id"]]
    if uses_accelerate(launch):
        store, facts = _launch_data_parallel(name, conf, cases, out, model_dir, examples, launch)
    else:
        store, facts = generate_cases(name, conf, cases, out, model_dir, examples, progress=progress)
    records = store.finalize(ids)
    meta = _base_meta(name, conf, cases, n_test)
    meta.update(_summary(records))
    meta.update(facts)
    meta["n_hit_max_new_tokens"] = sum(bool(r.get("hit_max_new_tokens")) for r in records)
    meta["n_loop_written_out"] = sum(bool(r.get("loop_written_out")) for r in records)
    meta["attention_note"] = attention_note
    _write_meta(meta_out, meta)
    return meta


def _launch_data_parallel(name, conf, cases, out, model_dir, examples, launch) -> tuple[PredictionStore, dict]:
    """Run claimbench.predict.worker under ``accelerate launch``; return the parent's store with every shard read."""
    from claimbench.models.launch import accelerate_command, run_logged

    key, kind, family = _llm_key(name, conf, model_dir)
    store = PredictionStore(out, key)  # removes other keys' partial files and reads what earlier runs left
    resumed = len(store.records)
    job_dir = store.partial.parent / f"{Path(out).stem}.{key}.job"
    job_dir.mkdir(parents=True, exist_ok=True)
    cases.to_parquet(job_dir / "cases.parquet", index=False)
    job = {"name": name, "conf": dict(conf), "cases": str(job_dir / "cases.parquet"), "out": str(out),
           "model_dir": str(model_dir), "examples": dict(examples or {})}
    (job_dir / "job.json").write_text(json.dumps(job, default=str), encoding="utf-8")
    started = time.perf_counter()
    run_logged(accelerate_command(launch, "claimbench.predict.worker", [job_dir / "job.json"]))
    elapsed = time.perf_counter() - started
    store.reload()
    import torch

    from claimbench.predict.data_parallel import shard_counts

    facts = {"model_dir": str(model_dir), "prompt": kind, "prompt_family": family, "resumed_cases": resumed,
             "elapsed_seconds": round(elapsed, 3), "generation": conf.get("generation"), "load": conf.get("load"),
             "data_parallel_processes": int(launch.get("num_processes", 1)),
             "shard_cases": shard_counts(out, key, [str(e) for e in cases["encounter_id"]]),  # each case once
             "device": f"{'cuda' if torch.cuda.is_available() else 'cpu'} (data-parallel)",
             "machine": platform.processor() or platform.machine()}
    return store, facts


def predict_knn(name: str, conf: Mapping, cases: pd.DataFrame, n_test: int, out: str | Path, meta_out: str | Path,
                examples: Mapping[str, list[str]]) -> dict:
    """The nearest training note's claim as the prediction (``examples`` holds the neighbours' rendered claims)."""
    started = time.perf_counter()
    ids = [str(e) for e in cases["encounter_id"]]
    store = PredictionStore(out, run_key(name, "knn"))
    records = [
        {
            "encounter_id": eid,
            "configuration": name,
            "model": conf.get("model_label") or "all-MiniLM-L6-v2 + FAISS IndexFlatL2 (nearest training claim)",
            "prompt_sha256": prompt_sha256(note),  # the query: the note itself
            "generated_text": examples[eid][0],
            "n_prompt_tokens": 0,
            "n_new_tokens": 0,
            "seconds": 0.0,
        }
        for eid, note in zip(ids, cases["op_note"])
        if not store.done(eid)
    ]
    store.append(records)
    final = store.finalize(ids)
    meta = _base_meta(name, conf, cases, n_test)
    meta.update(_summary(final))
    # The search itself ran in rule retrieval_neighbours; here only the look-up.
    meta.update({"wall_seconds": round(time.perf_counter() - started, 3), "tokens_per_second": None,
                 "model": meta["model"] or "all-MiniLM-L6-v2 + FAISS IndexFlatL2 (nearest training claim)"})
    _write_meta(meta_out, meta)
    return meta


def predict_api(name: str, conf: Mapping, cases: pd.DataFrame, n_test: int, out: str | Path, meta_out: str | Path,
                data_source: str, examples: Mapping[str, list[str]] | None = None, opener=None) -> dict:
    """The api configuration: refused (empty file, run: false, the reason) unless config allows sending."""
    from claimbench.predict.api import ChatClient, refusal_reason

    meta = _base_meta(name, conf, cases, n_test)
    reason = refusal_reason(conf, data_source)
    if reason:
        log.info("%s not run: %s", name, reason)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text("", encoding="utf-8")
        meta.update({"run": False, "reason": reason, "n_cases": 0, "case_ids": [], "wall_seconds": 0.0,
                     "tokens_per_second": None})
        _write_meta(meta_out, meta)
        return meta
    client = ChatClient(conf, data_source, **({"opener": opener} if opener else {}))
    kind = conf.get("prompt") or "base"
    ids = [str(e) for e in cases["encounter_id"]]
    store = PredictionStore(out, run_key(name, kind, client.url, client.model, client.max_tokens))
    for eid, note in zip(ids, cases["op_note"]):
        msgs = messages(kind, note, (examples or {}).get(eid) if kind in EXAMPLE_KINDS else None)
        digest = prompt_sha256(json.dumps(msgs, sort_keys=True))
        if store.done(eid, digest):
            continue
        started = time.perf_counter()
        text, usage = client.complete(msgs)
        store.append([{
            "encounter_id": eid, "configuration": name, "model": client.model, "prompt_sha256": digest,
            "generated_text": text, "n_prompt_tokens": int(usage.get("prompt_tokens") or 0),
            "n_new_tokens": int(usage.get("completion_tokens") or 0),
            "seconds": round(time.perf_counter() - started, 4),
        }])
    final = store.finalize(ids)
    meta.update(_summary(final))
    meta.update({"endpoint": client.url, "prompt": kind})
    _write_meta(meta_out, meta)
    return meta
