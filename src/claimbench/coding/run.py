"""What a finished run predicted with, read from its provenance records (claimbench.audit.record): for a
configuration, rule predict's settings, input files and model (paper 002's models: rule paper002_predict's), and the
settings of the retrieval and code-hint jobs that prepared its test notes. New notes are prepared and predicted with
exactly these, so a new note gets the answer a test note with the same text got.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from claimbench.audit.record import RECORDS
from claimbench.plan.layout import LAYOUT

from claimbench.plan.coding import PAPER002_PREFIX


class Refusal(ValueError):
    """A one-line reason not to code the notes (shown as is, never as a traceback)."""


@dataclass
class TrainedConfiguration:
    name: str
    settings: dict  # the resolved configuration (claimbench.plan.predict.resolve), as rule predict got it
    inputs: dict[str, str]  # rule predict's named inputs (train, neighbours, hints, decoding, model ...), run paths
    model_dir: str | None
    record_file: str  # rule predict's provenance record
    side_hints: bool = False
    codesets: dict = field(default_factory=dict)
    neighbours: dict | None = None  # rule retrieval_neighbours' params and inputs (index, embeddings)
    hints: dict | None = None  # rule code_hints' params

    def decoding_choice(self, root: str | Path = ".") -> dict | None:
        """The decoding settings chosen on the validation split (rule select_decoding), or None (fixed settings)."""
        path = self.inputs.get("decoding")
        return json.loads((Path(root) / path).read_text(encoding="utf-8"))["chosen"] if path else None


def _records(root: Path, rule: str) -> dict[str, tuple[Path, dict]]:
    folder = root / RECORDS / rule
    found = {}
    for file in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = json.loads(file.read_text(encoding="utf-8"))
        found[record.get("wildcards", {}).get("configuration", "")] = (file, record)
    return found


def trained_configurations(root: str | Path = ".") -> dict[str, tuple[Path, dict]]:
    """configuration name -> (record file, record) of every configuration the run predicted with."""
    root = Path(root)
    found = dict(_records(root, "predict"))
    found.update({PAPER002_PREFIX + name: entry for name, entry in _records(root, "paper002_predict").items()})
    return found


def _job(root: Path, rule: str) -> dict | None:
    entry = _records(root, rule).get("")
    return entry[1] if entry else None


def load_configuration(name: str, root: str | Path = ".") -> TrainedConfiguration:
    """The configuration ``name`` of the run in ``root``; Refusal naming what is missing and how to make it."""
    root = Path(root)
    known = trained_configurations(root)
    if not known:
        raise Refusal(f"{root / RECORDS}: no finished prediction in this run: make one with snakemake "
                      f"{LAYOUT.predictions(name)} (or run the workflow: snakemake --cores all)")
    if name not in known:
        raise Refusal(f"unknown configuration {name!r}; this run has: {', '.join(sorted(known))}")
    file, record = known[name]
    params = record["params"]
    inputs = {entry["name"]: entry["path"] for entry in record["inputs"] if entry.get("name")}
    trained = TrainedConfiguration(name, dict(params["settings"]), inputs, params.get("model_dir"),
                                   file.relative_to(root).as_posix(), bool(params.get("side_hints", False)),
                                   dict(params.get("codesets") or {}))
    if "neighbours" in inputs:
        trained.neighbours = _job(root, "retrieval_neighbours")
        if trained.neighbours is None:
            raise Refusal(f"{root / RECORDS}/retrieval_neighbours: no record; make it with snakemake "
                          f"{LAYOUT.neighbours('test')}")
    if "hints" in inputs:
        trained.hints = _job(root, "code_hints")
        if trained.hints is None:
            raise Refusal(f"{root / RECORDS}/code_hints: no record; make it with snakemake {LAYOUT.code_hints('test')}")
    needed = [path for key, path in inputs.items() if key in ("train", "model", "decoding")]
    if trained.neighbours:
        needed += [entry["path"] for entry in trained.neighbours["inputs"]
                   if entry.get("name") in ("index", "embeddings")]
    if trained.model_dir:
        needed.append(trained.model_dir)
    for path in needed:
        if not (root / path).exists():
            raise Refusal(f"{root / path} is missing: make it with snakemake {path}")
    return trained
