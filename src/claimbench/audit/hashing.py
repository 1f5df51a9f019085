"""Content hashes of files and folders (a folder: the hash of its sorted list of relative paths and file hashes)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


# Snakemake marks a directory output with this empty file after the job ends: not part of what the job made.
SNAKEMAKE_MARKER = ".snakemake_timestamp"


def _files(path: Path) -> list[Path]:
    return sorted(item for item in path.rglob("*") if item.is_file() and item.name != SNAKEMAKE_MARKER)


def sha256_path(path: str | os.PathLike) -> str:
    """sha256 of a file, or of a folder's manifest (relative path and sha256 of each file, sorted)."""
    path = Path(path)
    if not path.is_dir():
        return sha256_file(path)
    manifest = "".join(f"{item.relative_to(path).as_posix()}\0{sha256_file(item)}\n" for item in _files(path))
    return hashlib.sha256(manifest.encode()).hexdigest()


def stat_signature(path: str | os.PathLike) -> str:
    """Size and modification time of a file or of every file in a folder: cheap evidence that it was not rewritten
    since it was hashed (a producer's recorded hash is reused while the signature matches; ``verify`` re-hashes)."""
    path = Path(path)
    items = [(item.relative_to(path).as_posix(), item) for item in _files(path)] if path.is_dir() else [("", path)]
    text = "".join(f"{name}\0{item.stat().st_size}\0{item.stat().st_mtime_ns}\n" for name, item in items)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
