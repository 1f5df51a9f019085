"""Which configurations are description-grounded, and where their files go (read from config; imported by the rules
at parse time, so no heavy imports here)."""

from __future__ import annotations

from collections.abc import Mapping

METHOD = "grounded"  # the no-LM reference: the note's lines matched to the code sets
DESCRIBE_KIND = "describe"  # the prompt kind of a fine-tuned model that writes descriptions


def is_grounded(conf: Mapping) -> bool:
    """Whether a configuration's codes are resolved from descriptions (and so needs the code-set index)."""
    return conf.get("method") == METHOD or conf.get("prompt") == DESCRIBE_KIND


def grounded_configurations(config: Mapping) -> list[str]:
    """The no-LM reference configurations (method grounded)."""
    return [name for name, conf in (config.get("configurations") or {}).items() if conf.get("method") == METHOD]


def describe_configurations(config: Mapping) -> list[str]:
    """The configurations that write descriptions (prompt describe): their final code choice is made on validation."""
    return [name for name, conf in (config.get("configurations") or {}).items()
            if conf.get("prompt") == DESCRIBE_KIND]


def choice_path(name: str, results: str = "results") -> str:
    """Rule select_grounding_choice's record: the final code choice, made on validation notes."""
    return f"{results}/grounding/choice/{name}.json"


def codeset_index_path(results: str = "results") -> str:
    return f"{results}/grounding/codeset_index.npz"


def reference_choice_path(name: str, results: str = "results") -> str:
    return f"{results}/grounding/reference_choice/{name}.json"


def grounding_settings(config: Mapping) -> dict:
    """config ``grounding`` with the embedder of config ``retrieval`` (the same all-MiniLM-L6-v2)."""
    return {**(config.get("grounding") or {}), "embedder": (config.get("retrieval") or {}).get("embedder")}
