"""Shared fixtures: a scratch copy of the repository, and one local run of the whole DAG on the smoke profile (used by
tests/test_workflow.py, and by tests/test_slurm.py as the reference for the same DAG run through SLURM)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _offline import guarded_env

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
IGNORE = shutil.ignore_patterns(".venv", "results", ".snakemake", ".git", "__pycache__", ".pytest_cache", ".hypothesis")


def copy_repo(dest: Path) -> Path:
    """The repository copied to ``dest`` (Snakemake locks its working directory), sharing resources/ (WordNet)."""
    shutil.copytree(ROOT, dest, ignore=IGNORE)
    if (ROOT / "resources").exists():  # e.g. the local WordNet made by setup.sh
        shutil.rmtree(dest / "resources", ignore_errors=True)
        os.symlink(ROOT / "resources", dest / "resources")
    return dest


def run_failure(workdir: Path, output: str, tail: int = 5000) -> str:
    """A failed Snakemake run's message: the tail of its output, then the last lines of each failed job's log (the
    error itself, which a long run's tail no longer holds)."""
    logs = dict.fromkeys(re.findall(r"log: (\S+) \(check log file", output))
    parts = [output[-tail:]]
    for log in logs:
        path = workdir / log
        lines = path.read_text(errors="replace").splitlines()[-30:] if path.exists() else ["(not written)"]
        parts.append(f"--- {log} ---\n" + "\n".join(lines))
    return "\n".join(parts)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    workdir = copy_repo(tmp_path_factory.mktemp("smoke") / "repo")
    # the network blocked at the socket level in every process the run starts (tests/offline_guard)
    result = subprocess.run([SNAKEMAKE, "--profile", "profiles/smoke", "--cores", "2"], cwd=workdir,
                            env=guarded_env(workdir.parent / "sockets.log"), capture_output=True, text=True,
                            timeout=3000)
    assert result.returncode == 0, run_failure(workdir, result.stdout + result.stderr)
    return workdir
