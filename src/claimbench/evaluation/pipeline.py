"""The evaluation stage's steps as the workflow runs them (rules/evaluate.smk -> scripts/evaluate_*.py -> here).

Which configurations exist comes from config ``configurations`` (a mapping name -> settings, or a list of names or
of {name: ...}); whether one ran comes from its ``results/predictions/<name>.meta.json`` (``run``: false for the api
configuration by default). A configuration that did not run keeps its place in every table, marked "not run".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from claimbench.data.io import read_encounters
from claimbench.evaluation.bootstrap import bootstrap_configurations, bootstrap_intervals
from claimbench.evaluation.cases import read_meta, read_predictions, score_cases
from claimbench.evaluation.figures import figure3
from claimbench.evaluation.structure import StructureScorer
from claimbench.evaluation.tables import all_metrics, paper_table2, per_service, table2, training_stats
from claimbench.evaluation.validity import ReferenceSets

log = logging.getLogger(__name__)

def evaluate_configuration(
    test_path: str | Path,
    predictions_path: str | Path,
    meta_path: str | Path,
    out_path: str | Path,
    codesets: Mapping | None = None,
    evaluation: Mapping | None = None,
    structure: bool = True,
) -> pd.DataFrame:
    """Score every test case of one configuration and write the per-case Parquet file; without ``structure`` no
    ROUGE or METEOR of the claim text (the extra case sets' tables read the codes only, and loading WordNet is most
    of a job's 7 s).

    The test cases are those the prediction stage was given (meta ``case_ids``: the whole test split, or the seeded
    sample of ``predict.n_test_cases`` that every configuration shares); a case in that list without a prediction
    line scores 0, a test case outside the sample is not part of this run's test set."""
    codesets, evaluation = dict(codesets or {}), dict(evaluation or {})
    meta = read_meta(meta_path)
    test = read_encounters(test_path)
    if meta.get("case_ids") is not None:
        wanted = {str(e) for e in meta["case_ids"]}
        unknown = wanted - set(test["encounter_id"].astype(str))
        if unknown:
            raise ValueError(f"{meta_path}: case_ids not in the test split {test_path}, e.g. {sorted(unknown)[0]!r}")
        test = test[test["encounter_id"].astype(str).isin(wanted)].reset_index(drop=True)
    if meta.get("run", True) is False:
        log.info("%s did not run (%s): no cases scored", meta.get("configuration"), meta.get("reason"))
        cases = pd.DataFrame(columns=["encounter_id"])
    else:
        refs = ReferenceSets(
            cpt_catalog=codesets.get("cpt_catalog"),
            modifiers=codesets.get("modifiers"),
            icd10cm_files=codesets.get("icd10cm_files"),
        )
        scorer = StructureScorer(
            nltk_data=evaluation.get("nltk_data"), rouge_use_stemmer=bool(evaluation.get("rouge_use_stemmer", False))
        ) if structure else None
        predictions = read_predictions(predictions_path)
        cases = score_cases(test, predictions, refs, scorer)
        log.info("%s: %d test cases scored, %d without a prediction", meta.get("configuration"), len(cases),
                 int(cases["missing_prediction"].sum()) if len(cases) else 0)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    cases.to_parquet(out_path, index=False)
    return cases


def _load(case_paths: Mapping[str, str], meta_paths: Mapping[str, str]):
    metas = {name: read_meta(path) for name, path in meta_paths.items()}
    run = {name: metas.get(name, {}).get("run", True) is not False for name in case_paths}
    cases = {name: pd.read_parquet(path) for name, path in case_paths.items() if run[name]}
    return cases, metas, run


def configurations_table(
    configurations: Sequence[str], metas: Mapping[str, dict], paper_columns: Mapping[str, str], cases: Mapping
) -> pd.DataFrame:
    columns = ["configuration", "run", "reason", "method", "model", "stands_in_for", "paper_column", "n_cases",
               "wall_seconds", "tokens_per_second"]
    rows = []
    for name in configurations:
        meta = metas.get(name, {})
        rows.append(
            {
                "configuration": name,
                "run": meta.get("run", True) is not False,
                "reason": meta.get("reason") or "",
                "method": meta.get("method", ""),
                "model": meta.get("model", ""),
                "stands_in_for": meta.get("stands_in_for", ""),
                "paper_column": paper_columns.get(name, ""),
                "n_cases": len(cases[name]) if name in cases else 0,
                "wall_seconds": meta.get("wall_seconds"),
                "tokens_per_second": meta.get("tokens_per_second"),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def summarize(
    case_paths: Mapping[str, str],
    meta_paths: Mapping[str, str],
    paper_columns: Mapping[str, str],
    out: Mapping[str, str],
) -> None:
    """metrics.csv (long), table2.csv (beside the paper), per_service.csv, configurations.csv."""
    configurations = list(case_paths)
    cases, metas, run = _load(case_paths, meta_paths)
    metrics = all_metrics(cases, run)
    metrics.to_csv(out["metrics"], index=False)
    table2(metrics, configurations, paper_columns, run).to_csv(out["table2"], index=False)
    per_service(cases, run).to_csv(out["per_service"], index=False)
    configurations_table(configurations, metas, paper_columns, cases).to_csv(out["configurations"], index=False)


def bootstrap(
    case_paths: Mapping[str, str],
    meta_paths: Mapping[str, str],
    n_resamples: int,
    seed: int,
    out: Mapping[str, str],
) -> None:
    """Bootstrap replicates (Parquet) and their percentile intervals (CSV) for the configurations that ran."""
    cases, _, _ = _load(case_paths, meta_paths)
    replicates = bootstrap_configurations(cases, n_resamples=n_resamples, seed=seed)
    replicates.to_parquet(out["replicates"], index=False)
    bootstrap_intervals(replicates).to_csv(out["intervals"], index=False)


def draw_figure3(
    replicates_path: str | Path,
    configurations_path: str | Path,
    paper_columns: Mapping[str, str],
    out_path: str | Path,
) -> None:
    replicates = pd.read_parquet(replicates_path)
    configs = pd.read_csv(configurations_path, keep_default_na=False)
    run = dict(zip(configs.configuration.astype(str), configs.run.astype(bool)))
    n_cases = int(configs.loc[configs.run.astype(bool), "n_cases"].max()) if run and any(run.values()) else None
    figure3(replicates, list(configs.configuration.astype(str)), run, paper_columns, paper_table2(), out_path, n_cases)


def training(
    stats_paths: Mapping[str, str], meta_paths: Mapping[str, str], paper_columns: Mapping[str, str], out_path: str
) -> None:
    """training_stats.csv: each fine-tuned configuration's time and trainable parameters beside the paper's."""
    stats = {}
    for name, path in stats_paths.items():
        with open(path, encoding="utf-8") as handle:
            stats[name] = json.load(handle)
    metas = {name: read_meta(path) for name, path in meta_paths.items()}
    training_stats(stats, metas, paper_columns).to_csv(out_path, index=False)
