"""Per-configuration settings, resolved from config (imported by rules/predict.smk at parse time: no heavy imports)."""

from __future__ import annotations

import copy
from collections.abc import Mapping

LLM_METHODS = ("base", "rag", "qlora")
RETRIEVAL_METHODS = ("rag", "knn")


def resolve(config: Mapping, name: str) -> dict:
    """configurations.<name> with predict.generation / predict.load filled in, and a model label for the files.

    ``stands_in_for`` comes from the configuration, else from its model's entry in ``models``.
    """
    conf = copy.deepcopy(dict(config["configurations"][name]))
    predict = config.get("predict", {})
    conf["generation"] = {**predict.get("generation", {}), **conf.get("generation", {})}
    conf["load"] = dict(predict.get("load", {}))
    model = conf.get("model")
    entry = config.get("models", {}).get(model, {}) if model else {}
    conf.setdefault("stands_in_for", entry.get("stands_in_for"))
    conf.setdefault("prompt_family", entry.get("prompt_family"))
    if conf["method"] == "qlora":
        conf["model_label"] = f"{model} + QLoRA ({name}, merged)"
    elif conf["method"] == "knn":
        conf["model_label"] = "all-MiniLM-L6-v2 + FAISS IndexFlatL2 (nearest training claim)"
    elif conf["method"] == "api":
        conf["model_label"] = conf.get("model_name", "gpt-4o")
    else:
        conf["model_label"] = model
    if conf["method"] == "rag":
        conf.setdefault("k", config.get("retrieval", {}).get("k", 2))
    return conf
