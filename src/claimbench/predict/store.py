"""A prediction file written incrementally, that a killed and rerun job continues without redoing or duplicating.

Work in progress goes to *partial* files beside the output (Snakemake deletes a failed job's declared outputs, so the
partial files are deliberately not outputs): each finished batch is appended as JSON lines and flushed to disk. On a
rerun the partial files are read back; a line cut short by the kill (or any unreadable line) is dropped, and the
cases already there are skipped. At the end the records are written, in the test split's order, to the output file
(atomically: temporary file + rename) and the partial files are removed.

Data-parallel inference (one process per GPU) gives each process its own partial file, a *shard*
(``<stem>.<key>.shard<r>.jsonl``); every process reads all files of the key to know what is done, writes only its own,
and the parent process finalizes from all of them.

The partial files' names carry a key of everything that decides the output (model files, prompts, decoding
settings), so a changed setting never resumes from stale work; each record's prompt hash is checked as well.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Iterable

log = logging.getLogger(__name__)

# The fields of one prediction line (COMMON.md); further fields may follow.
FIELDS = ("encounter_id", "configuration", "model", "prompt_sha256", "generated_text", "n_prompt_tokens",
          "n_new_tokens", "seconds")


def run_key(*parts) -> str:
    """A short key of the JSON-serialisable ``parts`` (settings, model identity)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def model_identity(model_dir: str | Path | None) -> dict:
    """What identifies a model's weights on disk cheaply: each file's name, size and modification time."""
    if model_dir is None:
        return {}
    folder = Path(model_dir)
    return {
        p.name: [p.stat().st_size, int(p.stat().st_mtime)]
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix in {".json", ".safetensors", ".bin", ".model", ".jinja"}
    }


def partial_path(output: str | Path, key: str, shard: int | None = None) -> Path:
    output = Path(output)
    suffix = "" if shard is None else f".shard{shard}"
    return output.parent / ".partial" / f"{output.stem}.{key}{suffix}.jsonl"


def _read_lines(path: Path) -> tuple[list[tuple[bytes, dict]], int, bool]:
    """(raw line, record) pairs of the readable lines, the number of unreadable ones, whether the file ends cleanly."""
    raw = path.read_bytes()
    good, bad = [], 0
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
            record["encounter_id"] = str(record["encounter_id"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            bad += 1  # the line a kill cut short
            continue
        good.append((line, record))
    return good, bad, raw.endswith(b"\n") or not raw


class PredictionStore:
    """Resumable prediction records for one configuration run (``shard``: this process's number in a
    data-parallel run, None for a single process)."""

    def __init__(self, output: str | Path, key: str, shard: int | None = None):
        self.output = Path(output)
        self.key = key
        self.partial = partial_path(output, key, shard)
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        self.records: dict[str, dict] = {}
        self.resumed = 0
        if shard is None:
            self._remove_stale()
        self._recover()
        self._handle = open(self.partial, "a", encoding="utf-8")

    def _files(self) -> list[Path]:
        """This key's partial files: the main one first, then the shards in order."""
        main = partial_path(self.output, self.key)
        shards = sorted(self.partial.parent.glob(f"{self.output.stem}.{self.key}.shard*.jsonl"))
        return [p for p in [main, *shards] if p.exists()]

    def _remove_stale(self) -> None:
        # Partial files of other keys belong to runs with other settings: they can never be resumed.
        for path in self.partial.parent.glob(f"{self.output.stem}.*.jsonl"):
            if not path.name.startswith(f"{self.output.stem}.{self.key}."):
                log.info("removing %s (written with other settings)", path)
                path.unlink()

    def _recover(self) -> None:
        dropped = 0
        for path in self._files():
            good, bad, clean = _read_lines(path)
            for _, record in good:
                self.records[record["encounter_id"]] = record  # a redone case comes later: the last line wins
            dropped += bad
            if path == self.partial and (bad or not clean):
                # Rewrite our own file without the broken line, so appends start on a fresh line.
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(b"".join(line + b"\n" for line, _ in good))
                os.replace(tmp, path)
        self.resumed = len(self.records)
        if self.resumed or dropped:
            log.info("resuming %s: %d case(s) already done, %d broken line(s) dropped", self.partial, self.resumed,
                     dropped)

    def done(self, encounter_id: str, prompt_sha256: str | None = None) -> bool:
        """Whether ``encounter_id`` is already predicted (for the same prompt, when a hash is given)."""
        record = self.records.get(str(encounter_id))
        if record is None:
            return False
        if prompt_sha256 is not None and record.get("prompt_sha256") != prompt_sha256:
            del self.records[str(encounter_id)]  # the prompt changed: redo; the final file keeps the new line
            return False
        return True

    def append(self, records: Iterable[dict]) -> None:
        """Append a finished batch and push it to disk, so a kill loses at most the batch in progress."""
        lines = []
        for record in records:
            self.records[str(record["encounter_id"])] = record
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.write("".join(lines))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def reload(self) -> None:
        """Read every partial file of the key again (after other processes wrote their shards)."""
        self._handle.close()
        self.records = {}
        self._recover()
        self._handle = open(self.partial, "a", encoding="utf-8")

    def finalize(self, order: list[str]) -> list[dict]:
        """Write the output file in ``order`` (the test split's encounter order) and remove the partial files.

        Records for encounters outside ``order`` are left out; every encounter of ``order`` must be done.
        """
        self._handle.close()
        missing = [e for e in order if e not in self.records]
        if missing:
            raise RuntimeError(f"{len(missing)} case(s) have no prediction yet, e.g. {missing[0]}")
        final = [self.records[e] for e in order]
        self.output.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.output.with_suffix(self.output.suffix + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in final)
        os.replace(tmp, self.output)
        for path in self._files():
            path.unlink(missing_ok=True)
        return final

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()
