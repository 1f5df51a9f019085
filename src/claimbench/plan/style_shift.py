"""Where the extra case sets' files live (rules/style_shift.smk): each normal prediction input beside its counterpart
in a case set, so rule predict's own inputs can be swapped for the case set's.

- ``shifted``: the style-shift check, a seeded sample of the predicted test cases with the notes the held-out
  phrasing bank wrote for them;
- ``whole`` and ``whole_shifted``: every test note, normal and style-shifted, for the configurations without a
  language model (config ``predict.whole_split_configurations``): they cost seconds, so their comparisons need not
  stop at the language models' sample."""

from __future__ import annotations

from collections.abc import Mapping

from claimbench.plan.layout import LAYOUT, Layout

CASE_SETS = ("shifted", "whole", "whole_shifted")
WHOLE_SPLIT = ("whole", "whole_shifted")
# the case sets with notes of their own (rule shift_test_notes), and so code hints of their own; "whole" reads the
# test split and rule code_hints' answers for it
OWN_NOTES = ("shifted", "whole_shifted")


def case_set_file(kind: str, cases: str, layout: Layout = LAYOUT) -> str:
    """Where a case set's ``notes``, ``neighbours`` or ``hints`` file is written; ``cases`` may be a wildcard
    ("{cases}") for a rule's output."""
    return {"notes": f"{layout.results}/data/split/test_{cases}.parquet",
            "neighbours": f"{layout.results}/retrieval/neighbours_{cases}.parquet",
            "hints": f"{layout.results}/retrieval/code_hints_{cases}.parquet"}[kind]


def case_set_files(cases: str, layout: Layout = LAYOUT) -> dict[str, str]:
    """A normal prediction input -> its counterpart in case set ``cases``. The whole split's normal notes are the
    test split itself, and rule code_hints already answers every test note."""
    if cases not in CASE_SETS:
        raise ValueError(f"unknown case set {cases!r}; expected one of {', '.join(CASE_SETS)}")
    own = cases in OWN_NOTES
    return {
        layout.split("test"): case_set_file("notes", cases, layout) if own else layout.split("test"),
        layout.neighbours("test"): case_set_file("neighbours", cases, layout),
        layout.code_hints("test"): case_set_file("hints", cases, layout) if own else layout.code_hints("test"),
    }


def case_set_notes(cases: str, layout: Layout = LAYOUT) -> str:
    """Case set ``cases``' notes: the test encounters it predicts."""
    return case_set_files(cases, layout)[layout.split("test")]


def case_set_predictions(cases: str, configuration: str, suffix: str = "jsonl", layout: Layout = LAYOUT) -> str:
    """A configuration's predictions (``jsonl``) or their ``meta.json`` on case set ``cases``."""
    return f"{layout.results}/predictions/{cases}/{configuration}.{suffix}"


def case_set_scores(cases: str, configuration: str, layout: Layout = LAYOUT) -> str:
    """A configuration's scored cases on case set ``cases`` (rule evaluate_case_set)."""
    return f"{layout.results}/evaluation/{cases}_cases/{configuration}.parquet"


def case_set_inputs(inputs: Mapping[str, str], cases: str, layout: Layout = LAYOUT) -> dict[str, str]:
    """Rule predict's inputs (claimbench.plan.predict.predict_inputs) with case set ``cases``' notes, their
    neighbours and their code hints in place of the normal ones; the model, training split and decoding choice
    stay."""
    files = case_set_files(cases, layout)
    return {key: files.get(path, path) for key, path in inputs.items()}


def shifted_configurations(config: Mapping, names: list[str]) -> list[str]:
    """The configurations (of ``names``, in order) that predict the style-shifted notes: config
    ``predict.shifted_configurations``, or all of them where it is null or absent."""
    only = (config.get("predict") or {}).get("shifted_configurations")
    return [name for name in names if only is None or name in only]


def whole_split_configurations(config: Mapping, names: list[str]) -> list[str]:
    """The configurations (of ``names``, in order) that also predict every test note, normal and style-shifted:
    config ``predict.whole_split_configurations``; none where it is empty or absent, or where the predicted sample
    already is the whole split (``predict.n_test_cases`` null)."""
    predict = config.get("predict") or {}
    only = predict.get("whole_split_configurations") or ()
    if predict.get("n_test_cases") is None:
        return []
    return [name for name in names if name in only]
