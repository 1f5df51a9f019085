"""Where the style-shift check's files live (rules/style_shift.smk): each normal prediction input beside its
style-shifted counterpart, so rule predict's own inputs can be swapped for the shifted ones."""

from __future__ import annotations

from collections.abc import Mapping

from claimbench.plan.layout import LAYOUT, Layout


def shifted_files(layout: Layout = LAYOUT) -> dict[str, str]:
    """A normal prediction input -> its style-shifted counterpart."""
    return {
        layout.split("test"): f"{layout.results}/data/split/test_shifted.parquet",
        layout.neighbours("test"): f"{layout.results}/retrieval/neighbours_shifted.parquet",
        layout.code_hints("test"): f"{layout.results}/retrieval/code_hints_shifted.parquet",
    }


def shifted_inputs(inputs: Mapping[str, str], layout: Layout = LAYOUT) -> dict[str, str]:
    """Rule predict's inputs (claimbench.plan.predict.predict_inputs) with the shifted notes, their neighbours and
    their code hints in place of the normal ones; the model, training split and decoding choice stay."""
    files = shifted_files(layout)
    return {key: files.get(path, path) for key, path in inputs.items()}


def shifted_configurations(config: Mapping, names: list[str]) -> list[str]:
    """The configurations (of ``names``, in order) that predict the style-shifted notes: config
    ``predict.shifted_configurations``, or all of them where it is null or absent."""
    only = (config.get("predict") or {}).get("shifted_configurations")
    return [name for name in names if only is None or name in only]
