"""Which configurations are description-grounded and what they read (from config; imported by the rules at parse
time, so no heavy imports here). Their paths are the layout's (``Layout.grounding``)."""

from __future__ import annotations

from collections.abc import Mapping

from claimbench.plan.methods import GROUNDED_METHOD

DESCRIBE_KIND = "describe"  # the prompt kind of a fine-tuned model that writes descriptions
# the task a describe configuration trains and predicts with (claimbench.task.task_of builds it from the settings)
DESCRIBE_TASK = "claimbench.grounding.describe:describe_task"


def is_grounded(conf: Mapping) -> bool:
    """Whether a configuration's codes are resolved from descriptions (and so needs the code-set index)."""
    return conf.get("method") == GROUNDED_METHOD or conf.get("prompt") == DESCRIBE_KIND


EVIDENCE_ANCHORS = "training_evidence"  # method grounded matched to the training split's evidence clauses too


def uses_training_evidence(conf: Mapping) -> bool:
    """Whether a grounded configuration reads the training split (claimbench.grounding.evidence)."""
    return conf.get("method") == GROUNDED_METHOD and conf.get("anchors") == EVIDENCE_ANCHORS


def reference_choice_inputs(config: Mapping, name: str, layout) -> dict:
    """Input files of rule select_grounding_reference for configuration ``name``: the validation split and the
    code-set index, and the training split's evidence anchors (rule evidence_anchors) where it matches them."""
    inputs = {"validation": layout.split("validation"), "index": layout.grounding("codeset_index")}
    if uses_training_evidence((config.get("configurations") or {}).get(name) or {}):
        inputs["anchors"] = layout.grounding("evidence_anchors")
    return inputs


def grounded_configurations(config: Mapping) -> list[str]:
    """The no-LM reference configurations (method grounded)."""
    return [name for name, conf in (config.get("configurations") or {}).items()
            if conf.get("method") == GROUNDED_METHOD]


def describe_configurations(config: Mapping) -> list[str]:
    """The configurations that write descriptions (prompt describe): their final code choice is made on validation."""
    return [name for name, conf in (config.get("configurations") or {}).items()
            if conf.get("prompt") == DESCRIBE_KIND]


def grounding_settings(config: Mapping) -> dict:
    """config ``grounding`` with the embedder of config ``retrieval`` (the same all-MiniLM-L6-v2)."""
    return {**(config.get("grounding") or {}), "embedder": (config.get("retrieval") or {}).get("embedder")}
