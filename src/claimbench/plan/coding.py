"""Rule code_notes (new notes coded by a trained configuration; claimbench.coding): which configurations, their input
files, and the outputs rule all asks for when config ``code.notes`` names a file."""

from __future__ import annotations

from collections.abc import Mapping

from claimbench.plan import paper002
from claimbench.plan.layout import LAYOUT, Layout
from claimbench.plan.predict import is_llm, predict_inputs

PAPER002_PREFIX = "paper002-"  # paper 002's configurations, named apart from paper 000's (claimbench.coding.run)
OUTPUTS = ("jsonl", "csv", "html", "meta.json", "rejected.jsonl")


def codable(config: Mapping) -> list[str]:
    """Every configuration a run can code notes with: paper 000's and, with paper 002's stage on, its models."""
    names = list(config.get("configurations") or {})
    if paper002.enabled(config):
        names += [PAPER002_PREFIX + name for name in paper002.CONFIGURATIONS]
    return names


def chosen(config: Mapping) -> list[str]:
    """Config ``code.configurations`` (default: every codable configuration but an api configuration that is not
    enabled, which would refuse)."""
    section = config.get("code") or {}
    if section.get("configurations"):
        return list(section["configurations"])
    settings = config.get("configurations") or {}
    return [name for name in codable(config)
            if (settings.get(name) or {}).get("method") != "api" or (settings.get(name) or {}).get("enabled")]


def generates(config: Mapping, name: str) -> bool:
    """Whether the configuration runs a language model (its job's threads, memory and environment are rule
    predict's then)."""
    return name.startswith(PAPER002_PREFIX) or is_llm(config, name)


def coding_inputs(config: Mapping, name: str, model_dir, layout: Layout = LAYOUT) -> dict:
    """The notes file, the configuration's predictions (its run, whose record the coding reads) and every file rule
    predict read for it besides the test split (so the provenance chain runs from a coded note to the training
    data and model)."""
    inputs = {"notes": (config.get("code") or {})["notes"]}
    if name.startswith(PAPER002_PREFIX):
        own = name.removeprefix(PAPER002_PREFIX)
        inputs["predictions"] = layout.paper002(f"predictions/{own}.jsonl")
        inputs["model"] = paper002.predict_inputs(config, own, model_dir, layout)["model"]
        return inputs
    inputs["predictions"] = layout.predictions(name)
    inputs.update({key: path for key, path in predict_inputs(config, name, model_dir, layout).items() if key != "test"})
    if "neighbours" in inputs:  # new notes are searched in the index rule retrieval_neighbours searched
        inputs["index"] = f"{layout.results}/retrieval/train.faiss"
        inputs["embeddings"] = f"{layout.results}/retrieval/train_embeddings.npz"
    return inputs


def coded(layout: Layout, name: str, suffix: str = "jsonl") -> str:
    return f"{layout.results}/coded/{name}/claims.{suffix}"


def coded_outputs(config: Mapping, layout: Layout = LAYOUT) -> list[str]:
    """What rule all asks for: every chosen configuration's claims when ``code.notes`` names a file, else nothing."""
    if not (config.get("code") or {}).get("notes"):
        return []
    return [coded(layout, name) for name in chosen(config)]
