"""Offline by construction: hub switches, and where the PyPI-packaged models live on disk."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

# Every library that could reach a model hub is told not to. Set before transformers / sentence-transformers load.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def set_offline_env() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


def prepare_workflow_env(basedir: str) -> None:
    """Called by the Snakefile: offline switches, and this checkout's ``src`` first on every job's PYTHONPATH."""
    set_offline_env()
    src = os.path.join(basedir, "src")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)


def package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it (some model packages import heavy deps)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {package!r} is not installed; run ./setup.sh (see README) or point config at a local model path"
        )
    return Path(next(iter(spec.submodule_search_locations)))
