"""Which configurations the evaluation covers and which are fine-tuned, read from config ``configurations`` (a
mapping name -> settings, config/schema.yaml). Until the section exists the evaluation covers no configuration and
its tables show the paper's columns only."""

from __future__ import annotations

from collections.abc import Mapping

from claimbench.plan.methods import FINETUNED_METHOD


def configuration_names(config: Mapping) -> list[str]:
    """The configured configurations, in config order; empty when the section is absent."""
    return [str(name) for name in config.get("configurations") or {}]


def finetuned_names(config: Mapping) -> list[str]:
    """Configurations that are fine-tuned (method qlora): their training statistics
    (results/finetune/<name>/train_stats.json) go beside the paper's.

    A configuration with ``finetuned_from: <other>`` predicts with the other's model (e.g. ft-mini+grammar) and is
    not trained itself, so it is not listed."""
    return [
        str(name)
        for name, entry in (config.get("configurations") or {}).items()
        if entry.get("method") == FINETUNED_METHOD and not entry.get("finetuned_from")
    ]
