"""Paper 002's evaluation of one run: the generated texts parsed against the schema, scored chart by chart
(``metrics``) and gathered into the paper's tables (``tables``), for every configuration.

A configuration is scored on the charts it predicted (all evaluation charts, or the seeded sample of
``paper002.n_eval_cases``), in evaluation order. Output that does not parse, or breaks the schema, is an empty
prediction: every gold code missed, and counted by kind (``schema.error_counts``). Per-code tables follow the levels
the paper names: exact codes (Level 3) for the domain and chapter tables, categories (Level 0) for the
lowest-category and training-frequency views.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from claimbench.evaluation.validity import ReferenceSets
from claimbench.paper002 import metrics, tables
from claimbench.paper002.schema import error_counts, gold_claim, parse

FINE_TUNED = "fine-tuned"


@dataclass
class Evaluation:
    cases: pd.DataFrame  # one row per (configuration, chart): parse outcome and every metrics column
    levels: pd.DataFrame  # Figure 2 (per configuration)
    domains: pd.DataFrame  # Table 1 (per configuration)
    categories: pd.DataFrame  # Figure 3b (per configuration)
    chapters: pd.DataFrame  # Figure 3c (per configuration)
    frequency: pd.DataFrame  # Figure 5 (per configuration)
    summary: dict


def read_generated(path: str | Path) -> dict[str, str]:
    """encounter id -> generated text of a prediction file (JSONL written by claimbench.predict)."""
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return {str(row["encounter_id"]): str(row.get("generated_text") or "") for row in rows}


def training_frequency(train: pd.DataFrame) -> dict[str, int]:
    """Training charts holding each ICD-10-CM category (Level 0), over the original notes only: a note-pair composite
    repeats two notes that are already counted."""
    originals = train[~train["encounter_id"].astype(str).str.contains("+", regex=False)]
    return dict(metrics.code_frequency([gold_claim(r) for r in originals.to_dict("records")], level_number=0))


def _validity(claims: list, charts: pd.DataFrame, refs: ReferenceSets) -> dict:
    """Fabricated codes of each chart judged against its own fiscal year (ICD-10-CM) and surgery year (CPT)."""
    total: dict[str, int] = {}
    for claim, row in zip(claims, charts.to_dict("records")):
        icd = refs.icd10cm(int(row["fiscal_year"]))
        cpt = refs.cpt(int(str(row["surgery_date"])[:4]))
        counts = metrics.validity_counts([claim], icd10_valid=lambda c, s=icd: c in s,  # dotted, as the sets
                                         cpt_valid=lambda c, s=cpt: c in s)
        for key, value in counts.items():
            total[key] = total.get(key, 0) + int(value)
    return total


def evaluate_configuration(name: str, charts: pd.DataFrame, generated: Mapping[str, str], train_counts: Mapping,
                           refs: ReferenceSets, min_category_cases: int, jaccard_threshold: float | None
                           ) -> tuple[dict[str, pd.DataFrame], dict]:
    """Every table of one configuration, on the charts it predicted."""
    ids = [str(e) for e in charts["encounter_id"]]
    scored = charts[[e in generated for e in ids]].reset_index(drop=True)
    scored_ids = [str(e) for e in scored["encounter_id"]]
    golds = [gold_claim(r) for r in scored.to_dict("records")]
    parsed = [parse(generated[e]) for e in scored_ids]
    claims = [p.claim for p in parsed]
    cases = metrics.score_charts(golds, claims, scored_ids, jaccard_threshold)
    cases.insert(0, "configuration", name)
    cases.insert(2, "parse_error", [p.error or "" for p in parsed])
    cases.insert(3, "parse_message", [p.message or "" for p in parsed])
    exact = metrics.per_code_icd10(golds, claims, 3, scored_ids)
    category = metrics.per_code_icd10(golds, claims, 0, scored_ids)
    frequency, rho = tables.frequency_vs_f1(category, train_counts, min_cases=1)
    jaccard, n_matched = metrics.mean_evidence_jaccard(cases)
    out = {
        "cases": cases,
        "levels": tables.levels_table(cases),
        "domains": tables.domain_table(exact),
        "categories": tables.lowest_categories(category, min_cases=min_category_cases),
        "chapters": tables.chapter_table(exact),
        "frequency": frequency,
    }
    summary = {
        "n_charts": len(scored_ids),
        "parse": error_counts(parsed),
        "validity": _validity(claims, scored, refs),
        "evidence_jaccard": None if pd.isna(jaccard) else jaccard,
        "evidence_matched_codes": n_matched,
        "frequency_spearman": None if pd.isna(rho) else rho,
    }
    return out, summary


def evaluate(evaluation: pd.DataFrame, train: pd.DataFrame, predictions: Mapping[str, str | Path],
             min_category_cases: int = 3, jaccard_threshold: float | None = None,
             codesets: Mapping | None = None) -> Evaluation:
    """Paper 002's evaluation of every configuration (``predictions``: name -> prediction file)."""
    codesets = codesets or {}
    refs = ReferenceSets(codesets.get("cpt_catalog"), codesets.get("modifiers"), codesets.get("icd10cm_files"))
    train_counts = training_frequency(train)
    parts: dict[str, list[pd.DataFrame]] = {}
    summary = {"configurations": {}, "min_category_cases": min_category_cases,
               "evidence_jaccard_threshold": jaccard_threshold, "n_evaluation_charts": int(len(evaluation))}
    for name, path in predictions.items():
        frames, facts = evaluate_configuration(name, evaluation, read_generated(path), train_counts, refs,
                                               min_category_cases, jaccard_threshold)
        summary["configurations"][name] = facts
        for key, frame in frames.items():
            if key != "cases":
                frame = frame.copy()
                frame.insert(0, "configuration", name)
            parts.setdefault(key, []).append(frame)
    joined = {key: pd.concat(frames, ignore_index=True) for key, frames in parts.items()}
    return Evaluation(summary=summary, **joined)
