"""Outputs that appear whole or not at all.

A job is written beside its final path (``NAME.partial``) and renamed into place when finished: ``os.replace`` is
atomic within a filesystem, so a job killed part-way (SIGKILL, out of memory, a lost node) leaves a ``.partial``
file or folder, which the rerun overwrites, and never a half-written output that looks complete.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def partial_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".partial")


def fresh_partial(path: str | Path) -> Path:
    """The partial path of ``path``, with what a killed earlier run left there removed."""
    partial = partial_path(path)
    if partial.is_dir():
        shutil.rmtree(partial)
    else:
        partial.unlink(missing_ok=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    return partial


def publish(partial: str | Path, final: str | Path) -> None:
    """Move a finished file or folder into place; a folder first removes an old one (a rename cannot replace a
    non-empty folder), so for a moment the output is missing, never partial."""
    partial, final = Path(partial), Path(final)
    if partial.is_dir() and final.is_dir():
        shutil.rmtree(final)
    os.replace(partial, final)


def write_text(path: str | Path, text: str) -> None:
    partial = fresh_partial(path)
    partial.write_text(text, encoding="utf-8")
    publish(partial, path)
