"""The steps the workflow's query-benchmark rules call, one function each (scripts/querybench_*.py are thin).

One query job and one scoring job per model: the model (and the scorers) load once for all its runs — a run is a
decoding mode at a temperature — which on a 2-core machine saves more than running runs in parallel would.
"""

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
    """How a temperature is written in logs and tables: 0.2 -> "0.2", 1 -> "1.0"."""
    return f"{float(t):.2f}".rstrip("0").rstrip(".") if float(t) % 1 else f"{float(t):.1f}"


def query_models(qb: dict) -> list[str]:
    """The models queried: keys of the top-level ``models`` section, then fine-tuned ones (``finetuned``: name ->
    folder of a merged model, e.g. what the models stage writes), then the api configuration when ``api`` is on."""
    return [*qb["models"], *(qb.get("finetuned") or {}), *([API_MODEL] if qb.get("api") else [])]


def planned_runs(qb: dict, model: str | None = None) -> list[tuple[str, str, float]]:
    """(model, mode, temperature) of every run: free decoding at each temperature of the sweep and trie-constrained
    decoding at ``constrained_temperatures`` (not for the api configuration: a chat API exposes no logits)."""
    temperatures = [float(t) for t in qb["temperatures"]]
    if not any(abs(t - float(qb["headline_temperature"])) < 1e-9 for t in temperatures):
        raise ValueError("querybench.headline_temperature must be one of querybench.temperatures")
    constrained = [float(t) for t in qb.get("constrained_temperatures", [])]
    runs = []
    for name in query_models(qb) if model is None else [model]:
        runs += [(name, "free", t) for t in temperatures]
        if name != API_MODEL:
            runs += [(name, "trie", t) for t in constrained]
    return runs


def is_headline(temperature: float, qb: dict) -> bool:
    return abs(float(temperature) - float(qb["headline_temperature"])) < 1e-9


def query_model_dir(name: str, qb: dict, model_dir) -> str:
    """Where a queried model's weights are: a fine-tuned model's configured folder, else ``model_dir(name)``."""
    finetuned = qb.get("finetuned") or {}
    return str(finetuned[name]) if name in finetuned else str(model_dir(name))


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


def _run_sample(samples: dict[str, Path], key: str, temperature: float, qb: dict) -> pd.DataFrame:
    """The headline temperature queries the whole sample; the others its first ``sweep_codes`` codes."""
    sample = pd.read_parquet(samples[key])
    limit = None if is_headline(temperature, qb) else qb.get("sweep_codes")
    return sample if limit is None else sample.head(int(limit))


def _write(responses: pd.DataFrame, metas: list[dict], model: str, out_jsonl: Path, out_meta: Path,
           extra: dict | None) -> dict:
    meta = {"model": model, **(extra or {}), "runs": metas}
    out_jsonl.parent.mkdir(parents=True, exist_ok=True)
    responses.to_json(out_jsonl, orient="records", lines=True, force_ascii=False)
    out_meta.write_text(json.dumps(meta, indent=2))
    return meta


def run_model(
    model_dir: str | Path,
    model_name: str,
    samples: dict[str, Path],
    qb: dict,
    codesets_config: dict,
    seed: int,
    out_jsonl: Path,
    out_meta: Path,
    meta_extra: dict | None = None,
) -> dict:
    """Every run of one local model (free and trie modes, each temperature) over every system's sample."""
    from claimbench.models.loading import LoadSettings, load_for_inference
    from claimbench.querybench.generate import query_codes
    from claimbench.querybench.trie import CodeTrie

    began = time.perf_counter()
    model, tokenizer = load_for_inference(model_dir, LoadSettings(**qb.get("load", {})))
    load_seconds = time.perf_counter() - began
    tries: dict[str, CodeTrie] = {}
    frames, metas = [], []
    for _, mode, temperature in planned_runs(qb, model_name):
        samples_now = [_run_sample(samples, key, temperature, qb) for key in SYSTEM_KEYS]
        query = dict(model=model, tokenizer=tokenizer, mode=mode, temperature=temperature, seed=seed,
                     max_new_tokens=int(qb["max_new_tokens"]), batch_size=int(qb["batch_size"]), tag=model_name)
        if mode == "trie":  # one trie per system: each system's prompts in batches of their own
            parts = []
            for key, sample in zip(SYSTEM_KEYS, samples_now):
                if key not in tries:
                    tries[key] = CodeTrie(codebook_for(key, qb, codesets_config).all_codes)
                parts.append(query_codes(sample=sample, system=SYSTEMS[key], trie=tries[key], **query))
        else:  # free: every system's prompts share batches (the sweep's 4 codes a system would be batches of 4)
            parts = [query_codes(sample=pd.concat(samples_now, ignore_index=True), system=None, **query)]
        run = pd.concat(parts, ignore_index=True)
        per_system = {}
        for key in SYSTEM_KEYS:
            rows = run[run["system"] == key]
            tokens, seconds = int(rows["n_new_tokens"].sum()), float(rows["seconds"].sum())
            per_system[key] = {"n": len(rows), "new_tokens": tokens, "seconds": round(seconds, 2)}
            log.info("%s %s t=%s %s: %d prompts, %d new tokens in %.1f s (its share of the batches) = %.1f "
                     "tokens/s", model_name, mode, temperature_tag(temperature), SYSTEMS[key].name, len(rows),
                     tokens, seconds, tokens / max(seconds, 1e-9))
        gen_seconds = sum(s["seconds"] for s in per_system.values())
        tokens = int(run["n_new_tokens"].sum())
        metas.append({
            "mode": mode, "temperature": temperature, "headline": is_headline(temperature, qb), "run": True,
            "reason": None, "n_prompts": len(run), "new_tokens": tokens, "generation_seconds": round(gen_seconds, 2),
            "tokens_per_second": round(tokens / gen_seconds, 2) if gen_seconds else None,
            "max_new_tokens": int(qb["max_new_tokens"]), "batch_size": int(qb["batch_size"]), "seed": seed,
            "per_system": per_system,
        })
        log.info("%s %s t=%s: %d prompts, %d new tokens, %.1f tokens/s overall", model_name, mode,
                 temperature_tag(temperature), len(run), tokens, metas[-1]["tokens_per_second"] or 0)
        frames.append(run)
    responses = pd.concat(frames, ignore_index=True)
    responses.insert(0, "model", model_name)
    extra = {**(meta_extra or {}), "load_seconds": round(load_seconds, 2),
             "wall_seconds": round(time.perf_counter() - began, 2)}
    return _write(responses, metas, model_name, out_jsonl, out_meta, extra)


def run_api(
    api_settings: dict, samples: dict[str, Path], qb: dict, out_jsonl: Path, out_meta: Path, opener=None
) -> dict:
    """The api configuration's runs, or, when its guard refuses, an empty set of runs saying why."""
    from claimbench.querybench.api import SampledChatClient, api_refusal, query_api

    reason = api_refusal(api_settings)
    if reason:
        log.info("api configuration not queried: %s", reason)
    frames, metas = [], []
    for _, mode, temperature in planned_runs(qb, API_MODEL):
        began = time.perf_counter()
        parts = []
        if reason is None:
            kwargs = {"opener": opener} if opener is not None else {}
            client = SampledChatClient(api_settings, temperature, int(qb["max_new_tokens"]), **kwargs)
            parts = [query_api(client, _run_sample(samples, key, temperature, qb), key) for key in SYSTEM_KEYS]
        run = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if len(run):
            run["mode"], run["temperature"] = mode, temperature
            frames.append(run)
        metas.append({
            "mode": mode, "temperature": temperature, "headline": is_headline(temperature, qb), "run": reason is None,
            "reason": reason, "n_prompts": len(run), "new_tokens": int(run["n_new_tokens"].sum()) if len(run) else 0,
            "generation_seconds": round(time.perf_counter() - began, 2), "tokens_per_second": None,
            "max_new_tokens": int(qb["max_new_tokens"]), "batch_size": 1,
            "n_errors": int(run["error"].notna().sum()) if "error" in run else 0,
        })
    responses = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["system", "code", "response"])
    responses.insert(0, "model", API_MODEL)
    return _write(responses, metas, API_MODEL, out_jsonl, out_meta, {"stands_in_for": api_settings.get("model_name")})


SUMMARY_COLUMNS = ["model", "mode", "temperature", "headline", "system", "metric", "label", "value", "ci_low",
                   "ci_high", "count", "n"]


def score_model(
    responses_path: Path, qb: dict, codesets_config: dict, nltk_data, out_scored: Path, out_summary: Path,
    meteor=None, bertscore=None,
) -> pd.DataFrame:
    """Per-response facts + METEOR/BERTScore (scored parquet) and the metric summary per run and system (CSV).
    ``meteor``/``bertscore`` default to the offline scorers of ``textsim``."""
    from claimbench.querybench.metrics import add_text_similarity, score_responses, summarize

    out_scored.parent.mkdir(parents=True, exist_ok=True)
    text = Path(responses_path).read_text()
    responses = (pd.read_json(responses_path, lines=True, dtype={"code": str}, precise_float=True)
                 if text.strip() else pd.DataFrame())
    if responses.empty or "response" not in responses:  # no run happened (the api configuration refused)
        pd.DataFrame(columns=["model", "system", "code", "response"]).to_parquet(out_scored, index=False)
        empty = pd.DataFrame(columns=SUMMARY_COLUMNS)
        empty.to_csv(out_summary, index=False)
        return empty
    if meteor is None or bertscore is None:
        from claimbench.querybench.textsim import bertscore_scorer, meteor_scorer

        bert = qb.get("bertscore", {})
        meteor = meteor or meteor_scorer(nltk_data)
        bertscore = bertscore or bertscore_scorer(bert.get("model_dir"), int(bert.get("num_layers", 6)))
    parts = [score_responses(part, codebook_for(key, qb, codesets_config))
             for key, part in responses.groupby("system", sort=False)]
    scored = add_text_similarity(pd.concat(parts, ignore_index=True), meteor, bertscore)  # BERTScore loads once
    summaries = []
    for (mode, temperature, key), part in scored.groupby(["mode", "temperature", "system"], sort=False):
        summary = summarize(part)
        summary.insert(0, "system", key)
        summary.insert(0, "headline", is_headline(temperature, qb))
        summary.insert(0, "temperature", float(temperature))
        summary.insert(0, "mode", mode)
        summary.insert(0, "model", part["model"].iloc[0])
        summaries.append(summary)
    summary = pd.concat(summaries, ignore_index=True)[SUMMARY_COLUMNS]
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
    runs = []
    for path in metas:
        meta = json.loads(Path(path).read_text())
        head = {k: v for k, v in meta.items() if k != "runs"}
        runs += [{**head, **{k: v for k, v in run.items() if k != "per_system"}} for run in meta["runs"]]
    frames["runs"] = pd.DataFrame(runs)
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
