"""One table of the configurations and their prediction runs (report section _models.qmd), beside the paper's setup.

The paper's side (src/claimbench/data/paper000_configurations.csv) is cited from paper 000's Methods; the paper reports
no inference timings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import pandas as pd

COLUMNS = ["configuration", "method", "model", "stands_in_for", "prompt", "prompt_family", "prompt_layout", "run",
           "reason", "n_cases", "n_test_total", "n_new_tokens", "mean_new_tokens", "n_hit_max_new_tokens", "max_new_tokens",
           "batch_size", "wall_seconds", "seconds_per_case", "tokens_per_second", "load_seconds", "resumed_cases",
           "device", "torch_threads"]


def paper_configurations() -> pd.DataFrame:
    """Paper 000's configurations (cited values: model, method, prompt, inference set-up)."""
    path = resources.files("claimbench").joinpath("data/paper000_configurations.csv")
    with path.open(encoding="utf-8") as handle:
        return pd.read_csv(handle, keep_default_na=False)


def summarize(metas: Mapping[str, str | Path], settings: Mapping[str, Mapping]) -> pd.DataFrame:
    """configuration -> its meta.json, and its resolved settings (claimbench.plan.predict.resolve)."""
    rows = []
    for name, path in metas.items():
        meta = json.loads(Path(path).read_text(encoding="utf-8"))
        conf = settings.get(name, {})
        generation = meta.get("generation") or {}
        n, new = meta.get("n_cases") or 0, meta.get("n_new_tokens")
        rows.append({
            "configuration": name,
            "method": meta.get("method") or conf.get("method"),
            "model": meta.get("model") or conf.get("model_label"),
            "stands_in_for": meta.get("stands_in_for") or conf.get("stands_in_for"),
            "prompt": meta.get("prompt") or conf.get("prompt"),
            "prompt_family": meta.get("prompt_family"),
            "prompt_layout": meta.get("prompt_layout"),
            "run": meta.get("run", True) is not False,
            "reason": meta.get("reason"),
            "n_cases": n,
            "n_test_total": meta.get("n_test_total"),
            "n_new_tokens": new,
            "mean_new_tokens": round(new / n, 1) if n and new is not None else None,
            "n_hit_max_new_tokens": meta.get("n_hit_max_new_tokens"),
            "max_new_tokens": generation.get("max_new_tokens"),
            "batch_size": generation.get("batch_size"),
            "wall_seconds": meta.get("wall_seconds"),
            "seconds_per_case": meta.get("seconds_per_case"),
            "tokens_per_second": meta.get("tokens_per_second"),
            "load_seconds": meta.get("load_seconds"),
            "resumed_cases": meta.get("resumed_cases"),
            "device": meta.get("device"),
            "torch_threads": meta.get("torch_threads"),
        })
    table = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("n_cases", "n_test_total", "n_new_tokens", "n_hit_max_new_tokens", "max_new_tokens", "batch_size",
                   "resumed_cases", "torch_threads"):
        table[column] = pd.to_numeric(table[column]).astype("Int64")  # counts stay integers beside missing values
    return table
