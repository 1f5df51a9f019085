"""``code_notes``: a file of new operative notes coded by one configuration of a finished run.

The notes are ingested as an extract is (claimbench.data.ingest, record kind NOTES: strict, each rejected note
written out with its row, field and reason). Each note then goes through rule predict's own steps: its nearest
training notes searched in the run's index with the run's embedder and k (claimbench.retrieval), its code hints from
the run's training split with the run's settings (claimbench.lexicon), and the prediction with the run's settings,
model, decoding choice and claim grammar (claimbench.predict.configuration.predict_from_inputs). The work files
(neighbours, hints, the resumable prediction store) stay in a folder beside the output, so a killed run continues.
"""

from __future__ import annotations

import csv
import json
import logging
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from claimbench.audit.record import LOCK_FILES, RECORDS, describe, git_state, load_records, lock_hash, now, record_path
from claimbench.coding.claims import CSV_COLUMNS, Descriptions, coded_claim, csv_rows
from claimbench.coding.run import PAPER002_PREFIX, Refusal, TrainedConfiguration, load_configuration
from claimbench.data.contract import Contract
from claimbench.data.ingest import NOTES, ingest, write_rejections
from claimbench.data.readers import ExtractError
from claimbench.plan.coding import coded
from claimbench.plan.layout import LAYOUT

log = logging.getLogger(__name__)
RULE = "code_notes"  # the rule's name, and the provenance folder of the command's records
CODE_ROOT = Path(__file__).resolve().parents[3]  # the checkout of this library (its src/ holds claimbench)


def coded_path(configuration: str, root: str | Path = ".", suffix: str = "jsonl") -> Path:
    """Where rule code_notes (and the command, by default) writes a configuration's claims."""
    return Path(root) / coded(LAYOUT, configuration, suffix)


@dataclass
class CodingResult:
    claims: list[dict]
    out: Path
    summary: dict  # the ingestion summary of the notes file
    meta: dict  # the prediction meta (rule predict's fields) and the run's facts


def _contract(root: Path, codesets: dict) -> Contract:
    """The run's contract: its code sets and note limit, as rule ingest_extract checked the extract."""
    records = sorted((root / "results" / "provenance" / "ingest_extract").glob("*.json"))
    params = json.loads(records[0].read_text(encoding="utf-8"))["params"].get("contract", {}) if records else {}
    return Contract.from_config(params.get("icd10cm_files", codesets.get("icd10cm_files")),
                                params.get("max_note_chars"))


def _prepare(trained: TrainedConfiguration, notes: pd.DataFrame, root: Path, work: Path) -> dict[str, str]:
    """Rule predict's inputs with the new notes' neighbours and code hints in place of the test notes'."""
    from claimbench.data.io import read_encounters

    inputs = {key: str(root / path) for key, path in trained.inputs.items()}
    if trained.neighbours:
        from claimbench.retrieval import nearest_training_notes

        params = trained.neighbours["params"]
        files = {entry["name"]: str(root / entry["path"]) for entry in trained.neighbours["inputs"]}
        table = nearest_training_notes(notes, files["index"], files["embeddings"], params.get("embedder"),
                                       int(params.get("k", 2)), int(params.get("batch_size", 32)))
        inputs["neighbours"] = str(work / "neighbours.parquet")
        table.to_parquet(inputs["neighbours"], index=False)
    if trained.hints:
        from claimbench.lexicon import code_hint_table

        params = trained.hints["params"]
        table = code_hint_table([notes], params["lexical_k"][:1], read_encounters(inputs["train"]),
                                params.get("embedder"), params.get("batch_size", 32), params.get("cpt_hints", 0),
                                params.get("cpt_catalog"), params.get("side_hints", False),
                                params.get("icd10cm_files"))
        inputs["hints"] = str(work / "code_hints.parquet")
        table.to_parquet(inputs["hints"], index=False)
    return inputs


def code_notes(notes_path: str | Path, configuration: str, root: str | Path = ".", out: str | Path | None = None,
               progress: bool | None = None, title: str | None = None) -> CodingResult:
    """Code every valid note of ``notes_path`` (JSONL, CSV or Parquet: encounter_id, op_note, surgery_date;
    optionally service, patient_age, patient_sex) with ``configuration`` of the run in ``root``. Writes ``out``
    (default results/coded/<configuration>/claims.jsonl) and beside it ``.csv``, ``.html``, ``.meta.json``,
    ``.rejected.jsonl``. Raises Refusal (one line) for a run without the configuration's artefacts, an unknown
    configuration, the api configuration without its opt-in, or a file without one valid note.
    ``progress``: a progress bar (default: when stderr is a terminal)."""
    started = now()
    root, notes_path = Path(root), Path(notes_path)
    trained = load_configuration(configuration, root)
    settings = trained.settings
    if settings.get("method") == "api":
        from claimbench.predict.api import refusal_reason

        reason = refusal_reason(settings, str(notes_path))
        if reason:
            raise Refusal(f"configuration {configuration!r}: {reason}")
    try:
        ingested = ingest(notes_path, _contract(root, trained.codesets), NOTES)
    except ExtractError as exc:
        raise Refusal(str(exc).splitlines()[0]) from None
    out = Path(out) if out else coded_path(configuration, root)
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = ingested.summary(notes_path)
    write_rejections(ingested, out.with_suffix(".rejected.jsonl"), notes_path)
    if not ingested.records:
        first = ingested.rejections[0].message(notes_path) if ingested.rejections else "no records"
        raise Refusal(f"{notes_path}: no valid note ({summary['n_rejected']} rejected, e.g. {first}; all in "
                      f"{out.with_suffix('.rejected.jsonl')})")
    for rejection in ingested.rejections:
        log.warning("rejected: %s", rejection.message(notes_path))

    from claimbench.predict.configuration import predict_from_inputs

    notes = pd.DataFrame(ingested.records)
    work = out.parent / f".{out.stem}.work"
    work.mkdir(parents=True, exist_ok=True)
    inputs = _prepare(trained, notes, root, work)
    name = configuration.removeprefix(PAPER002_PREFIX)  # the name rule predict (or paper002_predict) ran it under
    predictions_path = work / "predictions.jsonl"
    meta = predict_from_inputs(name, settings, notes, len(notes), predictions_path, work / "predictions.meta.json",
                               inputs, model_dir=str(root / trained.model_dir) if trained.model_dir else None,
                               side_hints=trained.side_hints, codesets=trained.codesets, data_source=str(notes_path),
                               progress=sys.stderr.isatty() if progress is None else progress)
    predictions = {str(p["encounter_id"]): p for p in map(json.loads, predictions_path.read_text("utf-8").splitlines())}
    names = Descriptions(trained.codesets)
    claims = [coded_claim(settings, note, {**predictions[str(note["encounter_id"])], "configuration": configuration},
                          names) for note in ingested.records]
    _write_outputs(claims, out, notes, configuration, title)
    meta = {**meta, "configuration": configuration, "notes": str(notes_path), "ingestion": summary, "started": started,
            "decoding_choice": trained.decoding_choice(root), "run_record": trained.record_file}
    out.with_suffix(".meta.json").write_text(json.dumps(meta, indent=1, default=str) + "\n", encoding="utf-8")
    return CodingResult(claims, out, summary, meta)


def _write_outputs(claims: list[dict], out: Path, notes: pd.DataFrame, configuration: str, title: str | None) -> None:
    from claimbench.coding.page import render_page

    with open(out, "w", encoding="utf-8") as handle:
        for claim in claims:
            handle.write(json.dumps(claim, ensure_ascii=False) + "\n")
    with open(out.with_suffix(".csv"), "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows(claims))
    notes_by_id = dict(zip(notes["encounter_id"].astype(str), notes["op_note"]))
    out.with_suffix(".html").write_text(render_page(claims, notes_by_id, title or f"Coded notes: {configuration}"),
                                        encoding="utf-8")


def write_provenance(result: CodingResult, configuration: str, notes_path: str | Path, root: str | Path = ".") -> Path:
    """The command's provenance record, in the shape of every job's (claimbench.audit.record) and where rule
    code_notes writes its own, so that ``claimbench trace coded/<configuration>/<encounter_id>`` follows it: the
    notes file's sha256, the model folder's hash, the run's files the configuration read, its settings, decoding
    choice and code version."""
    from claimbench.audit.codeversion import code_version, library_calls

    root = Path(root).resolve()
    trained = load_configuration(configuration, root)
    producers = load_records(root / RECORDS)

    def entry(name: str, path: str | Path) -> dict:
        """A run file by its run-relative path (with the record of the job that made it); others as given."""
        full = (root / path).resolve()
        relative = full.relative_to(root).as_posix() if full.is_relative_to(root) else str(full)
        found = describe(relative, producers, root)
        if "made_by" in found:
            found["made_by"] = Path(found["made_by"]).relative_to(root).as_posix()
        return {"name": name, **found}

    inputs = [entry("notes", Path(notes_path).resolve())]
    # the run's files the new notes were prepared and predicted from (not the test notes' neighbours and hints)
    inputs += [entry(key, path) for key, path in trained.inputs.items()
               if key in ("train", "decoding", "codeset_index", "reference_choice", "grounding_choice")]
    if trained.neighbours:
        inputs += [entry(item["name"], item["path"]) for item in trained.neighbours["inputs"]
                   if item.get("name") in ("index", "embeddings")]
    if trained.model_dir:
        inputs.append(entry("model", trained.model_dir))
    outputs = [entry(suffix, result.out.with_suffix(f".{suffix}").resolve()) for suffix in ("jsonl", "csv", "html")]
    script = CODE_ROOT / "src" / "claimbench" / "coding" / "notes.py"
    version = code_version(script, CODE_ROOT)
    record = {
        "rule": RULE,
        "wildcards": {"configuration": configuration},
        "start": result.meta["started"],
        "end": now(),
        "inputs": inputs,
        "outputs": outputs,
        "params": {"configuration": configuration, "settings": trained.settings,
                   "decoding_choice": result.meta.get("decoding_choice"), "ingestion": result.summary},
        "seeds": {},
        "code": {"script": script.relative_to(CODE_ROOT).as_posix(), "version": version.version,
                 "calls": library_calls(script), "files": version.files},
        "git": git_state(CODE_ROOT),
        "environment": {"lock": list(LOCK_FILES), "lock_sha256": lock_hash(CODE_ROOT),
                        "python": platform.python_version(), "platform": platform.platform()},
        "threads": None,
        "resources": {},
        "log": [],
    }
    path = root / record_path(RULE, record["wildcards"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    return path
