"""The socket guard (tests/offline_guard/sitecustomize.py) put into every Python process a test starts."""

import os
from pathlib import Path

GUARD = Path(__file__).resolve().parent / "offline_guard"
SRC = Path(__file__).resolve().parents[1] / "src"


def guarded_env(log: Path) -> dict:
    """This environment with the guard first on PYTHONPATH (then this checkout's library), logging to ``log``."""
    path = os.pathsep.join(p for p in (str(GUARD), str(SRC), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "CLAIMBENCH_SOCKET_LOG": str(log)}


def socket_events(log: Path) -> list[tuple[str, str]]:
    """(event, command line) per line of the guard's log: event is "loaded" or "blocked"."""
    if not log.exists():
        return []
    return [(parts[1], line) for line in log.read_text().splitlines() if len(parts := line.split(maxsplit=2)) > 1]
