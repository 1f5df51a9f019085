"""Which configurations are fine-tuned, from which base model, with which settings (read from config).

Light on purpose: rules/finetune.smk imports it at parse time, so no torch / transformers here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from claimbench.grounding.plan import DESCRIBE_KIND
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
    (``claimbench.evaluation.selection.finetuned_names``): a configuration with ``finetuned_from`` (e.g.
    ft-mini+grammar) reuses that configuration's model and is not trained again.
    """
    from claimbench.evaluation.selection import finetuned_names

    section = config.get("configurations") or {}
    entries = dict(section) if isinstance(section, Mapping) else {
        e.get("name"): e for e in section if isinstance(e, Mapping)
    }
    models = config.get("models") or {}
    out = {}
    for name in finetuned_names(config):
        model = (entries.get(name) or {}).get("model")
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


def finetune_inputs(config: Mapping, configuration: str, results: str = "results") -> dict:
    """Input files of rule finetune besides the base model: the training and validation splits (never the test
    split), and for a rag prompt the neighbours of training and validation notes among the training notes."""
    inputs = {"train": f"{results}/data/split/train.parquet", "validation": f"{results}/data/split/validation.parquet"}
    prompt = training_prompt(config, configuration)
    if prompt in EXAMPLE_KINDS:
        inputs["neighbours"] = f"{results}/retrieval/finetune_neighbours.parquet"
    if prompt == HINTS_KIND:  # the code hints of training and validation notes
        from claimbench.predict.settings import code_hints_path

        inputs["hints"] = code_hints_path("finetune", results)
    return inputs


def finetune_job(config: Mapping, configuration: str, model_dir: str) -> dict:
    """What the finetune rule hands to ``claimbench.models.finetune.run_finetune`` (paths of inputs/outputs are added
    by the script): the configuration, its base model and folder, the merged settings and the seed."""
    model = finetuned_models(config)[configuration]
    prompt = training_prompt(config, configuration)
    extra = {"codesets": dict(config.get("codesets") or {})} if prompt == DESCRIBE_KIND else {}  # its targets' words
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
