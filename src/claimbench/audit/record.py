"""The provenance record of one job, written when its script ends successfully.

``results/provenance/<rule>/<wildcards>.json``: rule, wildcards, each input and output with its sha256, params (the
config values the rule hands its script), the code version (``claimbench.audit.codeversion``), the git commit and
whether the tree was dirty, the hash of the locked environment, seeds, threads and resources, start and end (UTC).

Started by ``claimbench.logs.redirect_to_log``, which every script calls first, so no script carries its own
provenance code. An input that a recorded job made is not hashed again while its size and mtime match the
producer's record (models are large); ``claimbench verify`` re-hashes everything.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from claimbench.audit.codeversion import code_version, library_calls
from claimbench.audit.hashing import sha256_file, sha256_path, stat_signature

RECORDS = Path("results/provenance")  # relative to the workflow's working directory, like every rule's paths
LOCK_FILE = "requirements.lock"
LOCK_FILES = (LOCK_FILE, "requirements-nodeps.lock")  # what setup.sh installs, in order
CODE_PARAM = "code"  # the params entry add_code_versions (codeversion.py) gives every scripted rule


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def git_state(root: str | os.PathLike) -> dict:
    """The checkout's commit and whether tracked or untracked (not ignored) files differ from it."""
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout

    try:
        return {"commit": git("rev-parse", "HEAD").strip(), "dirty": bool(git("status", "--porcelain").strip())}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None, "note": "not a git checkout"}


def lock_hash(root: str | os.PathLike) -> str | None:
    """The locked environment's hash: sha256 over the lock files' own sha256s (None without a lock)."""
    locks = [Path(root) / name for name in LOCK_FILES]
    if not all(lock.is_file() for lock in locks):
        return None
    return hashlib.sha256("".join(f"{lock.name} {sha256_file(lock)}\n" for lock in locks).encode()).hexdigest()


def record_path(rule: str, wildcards: dict) -> Path:
    name = ",".join(f"{key}={value}" for key, value in sorted(wildcards.items())) or "job"
    return RECORDS / rule / f"{name.replace('/', '_')}.json"


def load_records(records: Path = RECORDS) -> dict[str, tuple[Path, dict]]:
    """output path -> (record file, record) over every record written so far."""
    index = {}
    for file in sorted(records.rglob("*.json")) if records.is_dir() else []:
        record = json.loads(file.read_text())
        for entry in record.get("outputs", []):
            index[entry["path"]] = (file, record)
    return index


def _named(files) -> list[tuple[str | None, str]]:
    """(name, path) for every path of a Snakemake input/output list, in order."""
    names = {}
    for name, value in files.items():
        for path in value if isinstance(value, list) else [value]:
            names.setdefault(str(path), name)
    return [(names.get(str(path)), str(path)) for path in files]


def describe(path: str, producers: dict[str, tuple[Path, dict]] | None = None, root: str | Path = "") -> dict:
    """A file or folder with its hash; reuses the producer's hash while the file's size and mtime are unchanged.
    ``root``: the folder ``path`` is relative to, as the records name it (default: the working directory)."""
    file = os.path.join(root, path)
    signature = stat_signature(file)
    entry = {"path": path, "kind": "folder" if os.path.isdir(file) else "file", "signature": signature}
    if producers and path in producers:
        record_file, record = producers[path]
        entry["made_by"] = record_file.as_posix()
        made = next(item for item in record["outputs"] if item["path"] == path)
        if made["signature"] == signature:
            entry["sha256"] = made["sha256"]
            return entry
    entry["sha256"] = sha256_path(file)
    return entry


def seeds(params, prefix="") -> dict:
    """Every params entry whose key names a seed, at any depth: ``{"seed": 0, "querybench.seed": 1}``."""
    found = {}
    if isinstance(params, dict):
        for key, value in params.items():
            name = f"{prefix}{key}"
            if "seed" in str(key).lower() and not isinstance(value, (dict, list)):
                found[name] = value
            found.update(seeds(value, f"{name}."))
    return found


def _plain(value):
    return json.loads(json.dumps(value, default=str))


class JobRecord:
    """Collects what a job ran with; ``finish`` adds the outputs and writes the record."""

    def __init__(self, smk):
        self.smk = smk
        self.start = now()
        self.failed = False

    def finish(self) -> Path | None:
        smk = self.smk
        outputs = [path for _, path in _named(smk.output)]
        if self.failed or not all(os.path.exists(path) for path in outputs):
            return None
        root = Path(smk.scriptdir).resolve().parent if smk.scriptdir else Path.cwd()
        params = {name: _plain(value) for name, value in smk.params.items()}
        code = params.pop(CODE_PARAM, None)
        script = root / code["script"] if code else None
        producers = load_records()
        record = {
            "rule": smk.rule,
            "wildcards": dict(smk.wildcards.items()),
            "start": self.start,
            "end": now(),
            "inputs": [{"name": name, **describe(path, producers)} for name, path in _named(smk.input)],
            "outputs": [{"name": name, **describe(path)} for name, path in _named(smk.output)],
            "params": params,
            "seeds": seeds(params),
            "code": {**code, "calls": library_calls(script),
                     "files": code_version(script, root, [root / s for s in code.get("sources", [])]).files}
            if code else {},
            "git": git_state(root),
            "environment": {"lock": list(LOCK_FILES), "lock_sha256": lock_hash(root), "python": platform.python_version(),
                            "platform": platform.platform()},
            "threads": smk.threads,
            "resources": {key: value for key, value in smk.resources.items() if not key.startswith("_")},
            "log": list(smk.log),
        }
        path = record_path(smk.rule, record["wildcards"])
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(record, indent=1, default=str))
        partial.replace(path)
        return path


def start_record(smk) -> JobRecord:
    """Record this job when the script exits, unless it raised or left an output unwritten."""
    job = JobRecord(smk)
    previous_hook = sys.excepthook

    def on_error(*exc_info):
        job.failed = True
        previous_hook(*exc_info)

    sys.excepthook = on_error
    atexit.register(job.finish)
    return job
