"""The steps the workflow's query-benchmark rules call, one function each (scripts/querybench_*.py are thin)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pandas as pd

from claimbench.querybench.codebook import Codebook, load_codebook
from claimbench.querybench.sample import sample_codes
from claimbench.querybench.systems import SYSTEMS

log = logging.getLogger(__name__)

SYSTEM_KEYS = tuple(SYSTEMS)  # icd9cm, icd10cm, cpt: the paper's column order
PAPER_SIZES = {"icd9cm": 7697, "icd10cm": 15950, "cpt": 3673}
API_MODEL = "api"  # the run name of the api configuration (configurations.api)


def temperature_tag(t: float) -> str:
    """How a temperature appears in file names: 0.2 -> "0.2", 1 -> "1.0"."""
    return f"{float(t):.2f}".rstrip("0").rstrip(".") if float(t) % 1 else f"{float(t):.1f}"


def planned_runs(qb: dict) -> list[tuple[str, str, str]]:
    """(model, mode, temperature tag) of every query run: free decoding at each temperature of the sweep, and
    trie-constrained decoding at ``constrained_temperatures``."""
    tags = [temperature_tag(t) for t in qb["temperatures"]]
    if temperature_tag(qb["headline_temperature"]) not in tags:
        raise ValueError("querybench.headline_temperature must be one of querybench.temperatures")
    constrained = [temperature_tag(t) for t in qb.get("constrained_temperatures", [])]
    models = query_models(qb)
    runs = [(m, "free", t) for m in models for t in tags] + [(m, "trie", t) for m in models for t in constrained]
    if qb.get("api"):  # the api configuration: free decoding only (no logits to constrain through a chat API)
        runs += [(API_MODEL, "free", t) for t in tags]
    return runs


def query_models(qb: dict) -> list[str]:
    """The models queried: keys of the top-level ``models`` section, then fine-tuned ones (``finetuned``: name ->
    folder of a merged model, e.g. what the models stage writes), when configured."""
    return [*qb["models"], *(qb.get("finetuned") or {})]


def query_model_dir(name: str, qb: dict, model_dir) -> str:
    """Where a queried model's weights are: a fine-tuned model's configured folder, else ``model_dir(name)``."""
    finetuned = qb.get("finetuned") or {}
    return str(finetuned[name]) if name in finetuned else str(model_dir(name))


def run_files(qb: dict, pattern: str) -> list[str]:
    """``pattern`` ({model}, {mode}, {temperature}) filled in for every planned run."""
    return [pattern.format(model=m, mode=mode, temperature=t) for m, mode, t in planned_runs(qb)]


def codebook_for(key: str, qb: dict, codesets_config: dict) -> Codebook:
    """A system's code book as config says: ICD-10-CM of ``querybench.icd10cm_fiscal_year``, the configured CPT."""
    return load_codebook(
        key,
        fiscal_year=qb.get("icd10cm_fiscal_year"),
        cpt_catalog=codesets_config.get("cpt_catalog"),
        icd10cm_files=codesets_config.get("icd10cm_files"),
    )


def build_sample(key: str, qb: dict, codesets_config: dict, seed: int, out: Path) -> pd.DataFrame:
    book = codebook_for(key, qb, codesets_config)
    frame = sample_codes(book, int(qb["n_codes"][key]), seed)
    frame["source"] = book.source
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out, index=False)
    log.info("%s: %d codes sampled from %s (%d billable)", key, len(frame), book.source, len(book.billable))
    return frame


def run_query(
    model_dir: str | Path,
    model_name: str,
    samples: dict[str, Path],
    qb: dict,
    codesets_config: dict,
    mode: str,
    temperature: float,
    seed: int,
    out_jsonl: Path,
    out_meta: Path,
    meta_extra: dict | None = None,
) -> dict:
    """Query one model at one temperature in one mode over every system's sample; write responses + meta."""
    from claimbench.models.generation import LoadSettings, load_for_inference
    from claimbench.querybench.generate import query_codes
    from claimbench.querybench.trie import CodeTrie

    headline = abs(float(temperature) - float(qb["headline_temperature"])) < 1e-9
    limit = None if headline else qb.get("sweep_codes")
    began = time.perf_counter()
    model, tokenizer = load_for_inference(model_dir, LoadSettings(**qb.get("load", {})))
    load_seconds = time.perf_counter() - began
    frames, per_system = [], {}
    for key in SYSTEM_KEYS:
        sample = pd.read_parquet(samples[key])
        if limit is not None:
            sample = sample.head(int(limit))
        trie = None
        if mode == "trie":
            trie = CodeTrie(codebook_for(key, qb, codesets_config).all_codes)
        start = time.perf_counter()
        frame = query_codes(
            model, tokenizer, sample, SYSTEMS[key], mode=mode, temperature=float(temperature), seed=seed,
            max_new_tokens=int(qb["max_new_tokens"]), batch_size=int(qb["batch_size"]), trie=trie, tag=model_name,
        )
        seconds = time.perf_counter() - start
        tokens = int(frame["n_new_tokens"].sum())
        per_system[key] = {"n": len(frame), "new_tokens": tokens, "seconds": round(seconds, 2),
                           "tokens_per_second": round(tokens / seconds, 2) if seconds else None}
        log.info("%s %s t=%s %s: %d prompts, %d new tokens in %.1f s = %.1f tokens/s", model_name, mode,
                 temperature, SYSTEMS[key].name, len(frame), tokens, seconds, tokens / max(seconds, 1e-9))
        frames.append(frame)
    responses = pd.concat(frames, ignore_index=True)
    responses.insert(0, "model", model_name)
    wall = time.perf_counter() - began
    gen_seconds = sum(s["seconds"] for s in per_system.values())
    new_tokens = int(responses["n_new_tokens"].sum())
    meta = {
        "model": model_name,
        "mode": mode,
        "temperature": float(temperature),
        "headline": headline,
        "run": True,
        "reason": None,
        "n_prompts": len(responses),
        "new_tokens": new_tokens,
        "generation_seconds": round(gen_seconds, 2),
        "load_seconds": round(load_seconds, 2),
        "wall_seconds": round(wall, 2),
        "tokens_per_second": round(new_tokens / gen_seconds, 2) if gen_seconds else None,
        "max_new_tokens": int(qb["max_new_tokens"]),
        "batch_size": int(qb["batch_size"]),
        "seed": seed,
        "per_system": per_system,
        **(meta_extra or {}),
    }
    log.info("%s %s t=%s: %d prompts, %d new tokens, %.1f tokens/s overall", model_name, mode, temperature,
             len(responses), new_tokens, meta["tokens_per_second"] or 0)
    out_jsonl.parent.mkdir(parents=True, exist_ok=True)
    responses.to_json(out_jsonl, orient="records", lines=True, force_ascii=False)
    out_meta.write_text(json.dumps(meta, indent=2))
    return meta


def run_api_query(
    api_settings: dict, samples: dict[str, Path], qb: dict, temperature: float, out_jsonl: Path, out_meta: Path,
    opener=None,
) -> dict:
    """The api configuration over every system's sample, or, when its guard refuses, an empty run saying why."""
    from claimbench.querybench.api import SampledChatClient, api_refusal, query_api

    headline = abs(float(temperature) - float(qb["headline_temperature"])) < 1e-9
    limit = None if headline else qb.get("sweep_codes")
    reason = api_refusal(api_settings)
    frames = []
    began = time.perf_counter()
    if reason is None:
        kwargs = {"opener": opener} if opener is not None else {}
        client = SampledChatClient(api_settings, temperature, int(qb["max_new_tokens"]), **kwargs)
        for key in SYSTEM_KEYS:
            sample = pd.read_parquet(samples[key])
            frames.append(query_api(client, sample.head(int(limit)) if limit is not None else sample, key))
    else:
        log.info("api configuration not queried: %s", reason)
    responses = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["system", "item", "code", "description", "response", "n_new_tokens", "seconds"])
    responses.insert(0, "model", API_MODEL)
    responses["mode"] = "free"
    responses["temperature"] = float(temperature)
    wall = time.perf_counter() - began
    meta = {"model": API_MODEL, "mode": "free", "temperature": float(temperature), "headline": headline,
            "run": reason is None, "reason": reason, "n_prompts": len(responses),
            "new_tokens": int(responses["n_new_tokens"].sum()) if len(responses) else 0,
            "generation_seconds": round(wall, 2), "wall_seconds": round(wall, 2), "tokens_per_second": None,
            "max_new_tokens": int(qb["max_new_tokens"]), "batch_size": 1,
            "stands_in_for": api_settings.get("model_name"),
            "n_errors": int(responses["error"].notna().sum()) if "error" in responses else 0}
    out_jsonl.parent.mkdir(parents=True, exist_ok=True)
    responses.to_json(out_jsonl, orient="records", lines=True, force_ascii=False)
    out_meta.write_text(json.dumps(meta, indent=2))
    return meta


def score_run(
    responses_path: Path, meta_path: Path, qb: dict, codesets_config: dict, nltk_data, out_scored: Path,
    out_summary: Path,
) -> pd.DataFrame:
    """Per-response facts + METEOR/BERTScore (scored parquet), and the metric summary per system (CSV)."""
    from claimbench.querybench.metrics import add_text_similarity, score_responses, summarize
    from claimbench.querybench.textsim import bertscore_scorer, meteor_scorer

    meta = json.loads(Path(meta_path).read_text())
    text = Path(responses_path).read_text()
    out_scored.parent.mkdir(parents=True, exist_ok=True)
    if not text.strip():  # a run that did not happen (the api configuration refused): nothing to score
        pd.DataFrame(columns=["model", "system", "code", "response"]).to_parquet(out_scored, index=False)
        empty = pd.DataFrame(columns=["model", "mode", "temperature", "headline", "system", "metric", "label",
                                      "value", "ci_low", "ci_high", "count", "n"])
        empty.to_csv(out_summary, index=False)
        return empty
    responses = pd.read_json(responses_path, lines=True, dtype={"code": str})
    bert = qb.get("bertscore", {})
    meteor = meteor_scorer(nltk_data)
    bertscore = bertscore_scorer(bert.get("model_dir"), int(bert.get("num_layers", 6)))
    scored_parts, summaries = [], []
    for key in SYSTEM_KEYS:
        part = responses[responses["system"] == key]
        if part.empty:
            continue
        scored = score_responses(part, codebook_for(key, qb, codesets_config))
        scored_parts.append(scored)
    scored = pd.concat(scored_parts, ignore_index=True)
    scored = add_text_similarity(scored, meteor, bertscore)  # one BERTScore call: the model loads once
    for key, part in scored.groupby("system", sort=False):
        summary = summarize(part)
        summary.insert(0, "system", key)
        summaries.append(summary)
    summary = pd.concat(summaries, ignore_index=True)
    for column in ("model", "mode", "temperature", "headline"):
        summary.insert(0, column, meta[column])
    scored["codes"] = scored["codes"].map(list)
    scored.to_parquet(out_scored, index=False)
    summary.to_csv(out_summary, index=False)
    return summary


def write_tables(
    summaries: list, scored: list, metas: list, samples: list, qb: dict, outputs: dict[str, Path]
) -> None:
    """Every table and the figure of the report section, as files (``outputs``: name -> path)."""
    from claimbench.querybench import tables

    summary = pd.concat([f for f in (pd.read_csv(p) for p in summaries) if len(f)], ignore_index=True)
    frames = {
        "summary": summary,
        "exact_match": tables.exact_match_table(summary),
        "similarity": tables.similarity_table(summary),
        "constrained": tables.constrained_table(summary),
    }
    for key in SYSTEM_KEYS:
        frames[f"error_{key}"] = tables.error_analysis_table(summary, key)
    responses = pd.concat([f for f in (pd.read_parquet(p) for p in scored) if len(f)], ignore_index=True)
    sweep = tables.sweep_frame(responses, qb.get("sweep_codes"))
    frames["sweep"] = sweep
    runs = pd.DataFrame([json.loads(Path(p).read_text()) for p in metas]).drop(columns=["per_system"], errors="ignore")
    frames["runs"] = runs
    sample_rows = []
    for path in samples:
        frame = pd.read_parquet(path)
        key = frame["system"].iloc[0]
        sample_rows.append({"system": key, "source": frame["source"].iloc[0], "n_codes": len(frame),
                            "paper_n_codes": PAPER_SIZES[key]})
    frames["samples"] = pd.DataFrame(sample_rows)
    for name, frame in frames.items():
        if name in outputs:
            outputs[name].parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(outputs[name], index=False)
    tables.sweep_figure(sweep, outputs["sweep_figure"])
    log.info("tables written: %s", ", ".join(sorted(outputs)))
