"""Where configured models live, read from config (imported by rules/*.smk at parse time: no heavy imports)."""

from __future__ import annotations

from collections.abc import Mapping

from claimbench.plan import names_pattern
from claimbench.plan.layout import LAYOUT, Layout


def model_folder(config: Mapping, name: str, layout: Layout = LAYOUT) -> str:
    """The folder a configured model is loaded from: a user's local path, or our converted / built copy."""
    source = config["models"][name]["source"]
    return source["path"] if "path" in source else layout.model(name)


def built_model_pattern(config: Mapping, kind: str) -> str:
    """A wildcard regex of the configured models built by rule ``kind``: "tiny" (tiny_model) or "gguf"
    (convert_model). It matches nothing when no model of that kind is configured."""
    names = [
        name
        for name, entry in config["models"].items()
        if "path" not in entry["source"] and (("tiny" in entry["source"]) == (kind == "tiny"))
    ]
    return names_pattern(names)


def tiny_tokenizer_source(config: Mapping, name: str, shared_dir: str) -> dict:
    """A tiny model's tokenizer: its configured source, else the shared SmolLM2 tokenizer folder."""
    return config["models"][name]["source"].get("tokenizer") or {"path": shared_dir}
