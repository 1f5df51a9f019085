"""Which configurations are fine-tuned, from which base model, with which settings (read from config).

Light on purpose: rules/finetune.smk imports it at parse time, so no torch / transformers here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from claimbench.plan.configurations import finetuned_names
from claimbench.plan.grounding import DESCRIBE_KIND, DESCRIBE_TASK
from claimbench.plan.layout import LAYOUT, Layout
from claimbench.prompts import EXAMPLE_KINDS, HINTS_KIND, TRAINING_KINDS


def deep_merge(base: Mapping, override: Mapping | None) -> dict:
    """``override`` merged into a copy of ``base``, recursively for nested mappings."""
    out = copy.deepcopy(dict(base))
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def settings_for(section: Mapping, configuration: str) -> dict:
    """The ``finetune`` config section with ``per_configuration.<configuration>`` merged over it."""
    base = {k: v for k, v in section.items() if k != "per_configuration"}
    return deep_merge(base, (section.get("per_configuration") or {}).get(configuration) or {})


def finetuned_models(config: Mapping) -> dict[str, str]:
    """Fine-tuned configuration -> its base model (a key of ``models``), from ``configurations.<name>.model``.

    Which configurations are fine-tuned is decided in one place for every stage
    (``claimbench.plan.configurations.finetuned_names``): a configuration with ``finetuned_from`` (e.g.
    ft-mini+grammar) reuses that configuration's model and is not trained again.
    """
    entries = config.get("configurations") or {}
    models = config.get("models") or {}
    out = {}
    for name in finetuned_names(config):
        model = entries[name].get("model")
        if model not in models:
            raise ValueError(f"configurations.{name}.model is {model!r}, which is not a key of `models`")
        out[name] = model
    return out


def training_prompt(config: Mapping, configuration: str) -> str:
    """The prompt a fine-tuned configuration trains and predicts with: the paper's ``finetuned``, or ``rag``
    (retrieval-augmented fine-tuning, beyond the paper: the claims of the note's nearest training notes shown)."""
    prompt = (config["configurations"][configuration].get("prompt")) or "finetuned"
    if prompt not in (*TRAINING_KINDS, DESCRIBE_KIND):
        raise ValueError(f"configurations.{configuration}.prompt is {prompt!r}; a qlora configuration trains on "
                         "'finetuned' (the paper's), 'rag' (retrieval-augmented fine-tuning), 'rag_lexicon' (the "
                         "same with the training split's code hints) or 'describe' (descriptions resolved to codes)")
    return prompt


def finetune_inputs(config: Mapping, configuration: str, layout: Layout = LAYOUT) -> dict:
    """Input files of rule finetune besides the base model: the training and validation splits (never the test
    split), and for a rag prompt the neighbours of training and validation notes among the training notes."""
    inputs = {"train": layout.split("train"), "validation": layout.split("validation")}
    prompt = training_prompt(config, configuration)
    if prompt in EXAMPLE_KINDS:
        inputs["neighbours"] = layout.neighbours("finetune")
    if prompt == HINTS_KIND:  # the code hints of training and validation notes
        inputs["hints"] = layout.code_hints("finetune")
    return inputs


def finetune_job(config: Mapping, configuration: str, model_dir: str) -> dict:
    """What the finetune rule hands to ``claimbench.models.finetune.run_finetune`` (paths of inputs/outputs are added
    by the script): the configuration, its base model and folder, the merged settings and the seed."""
    model = finetuned_models(config)[configuration]
    prompt = training_prompt(config, configuration)
    # the describe task's targets are descriptions in the code sets of config `codesets`
    extra = {"task": DESCRIBE_TASK, "codesets": dict(config.get("codesets") or {})} if prompt == DESCRIBE_KIND else {}
    return {
        **extra,
        "configuration": configuration,
        "prompt": prompt,
        "k": int((config.get("retrieval") or {}).get("k", 2)),
        "model": model,
        "model_dir": str(model_dir),
        "stands_in_for": config["models"][model].get("stands_in_for"),
        "settings": settings_for(config.get("finetune") or {}, configuration),
        "seed": int(config["seed"]),
    }
