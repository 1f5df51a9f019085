"""Which configurations the evaluation covers, read from config (imported by rules/evaluate.smk at parse time, so
it stays free of heavy imports).

Config ``configurations`` is written by the models stage: a mapping name -> settings, or a list of names or of
{name: ...}. Until it exists the evaluation covers no configuration and its tables show the paper's columns only.
"""

from __future__ import annotations

from collections.abc import Mapping

# config ``configurations.<name>.method`` values that mean a fine-tuned model (with results/finetune/<name>/).
FINETUNE_METHODS = frozenset({"qlora", "lora", "finetune", "fine-tune", "fine_tune", "finetuned", "sft", "ft"})


def configuration_names(config: Mapping) -> list[str]:
    """The configured configurations, in config order; empty when the section is absent."""
    section = config.get("configurations") or {}
    if isinstance(section, Mapping):
        return [str(name) for name in section]
    names = []
    for entry in section:
        if isinstance(entry, str):
            names.append(entry)
        elif isinstance(entry, Mapping) and entry.get("name"):
            names.append(str(entry["name"]))
    return names


def finetuned_names(config: Mapping) -> list[str]:
    """Configurations that are fine-tuned (``method`` qlora/lora/finetune/sft, or a ``finetune``/``lora`` settings
    block): their training statistics (results/finetune/<name>/train_stats.json) go beside the paper's.

    A configuration with ``finetuned_from: <other>`` predicts with the other's model (e.g. ft-mini+grammar) and is
    not trained itself, so it is not listed."""
    section = config.get("configurations") or {}
    entries = section.items() if isinstance(section, Mapping) else (
        (e.get("name"), e) for e in section if isinstance(e, Mapping)
    )
    return [
        str(name)
        for name, entry in entries
        if isinstance(entry, Mapping)
        and (str(entry.get("method", "")).lower() in FINETUNE_METHODS or "finetune" in entry or "lora" in entry)
        and not entry.get("finetuned_from")
    ]
