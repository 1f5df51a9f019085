"""Send a Snakemake script's stdout/stderr and Python logging to the rule's log file, and record the job's
provenance when the script ends (claimbench.audit.record)."""

from __future__ import annotations

import logging
import sys

from claimbench.audit.record import start_record


def redirect_to_log(smk) -> None:
    """Call first in every script run by ``script:``; ``smk`` is the injected ``snakemake`` object."""
    start_record(smk)
    if not smk.log:
        return
    handle = open(smk.log[0], "w", buffering=1)
    sys.stdout = sys.stderr = handle
    logging.basicConfig(
        stream=handle, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
