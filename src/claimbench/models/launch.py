"""Starting a GPU job on several GPUs with ``accelerate launch`` (paper 000: 4 GPUs, DeepSpeed ZeRO-3 for training,
the model replicated on each GPU with the test set split across them for inference).

Kept free of heavy imports: the rules files import it when Snakemake parses them. Both the fine-tuning and the
prediction stage use it: a ``launch`` config block ``{accelerate_config, num_processes}`` says whether a job runs
in-process (``accelerate_config: null``, the CPU default) or as ``accelerate launch`` of a library module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def uses_accelerate(launch: Mapping | None) -> bool:
    return bool(launch and launch.get("accelerate_config"))


def accelerate_command(launch: Mapping, module: str, args: Sequence[str] = (), main_process_port: int | None = None
                       ) -> list[str]:
    """``accelerate launch --config_file CFG --num_processes N [-m] module args...`` as an argument list.

    ``accelerate`` is run as ``python -m accelerate.commands.launch`` of the current interpreter, so the job uses the
    same environment as the rule that starts it (no PATH lookup).
    """
    config = Path(launch["accelerate_config"])
    if not config.exists():
        raise FileNotFoundError(f"accelerate config {config} not found (finetune/launch settings)")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config),
           "--num_processes", str(int(launch.get("num_processes", 1)))]
    if main_process_port is not None:
        cmd += ["--main_process_port", str(int(main_process_port))]
    return cmd + ["-m", module, *map(str, args)]


def run_logged(cmd: Sequence[str], log_path: str | Path | None = None) -> None:
    """Run ``cmd``, its stdout and stderr appended to ``log_path`` (or inherited); raise on a non-zero exit."""
    env = dict(os.environ)
    if log_path is None:
        subprocess.run(list(cmd), check=True, env=env)
        return
    with open(log_path, "a", buffering=1) as handle:
        handle.write("$ " + " ".join(map(str, cmd)) + "\n")
        handle.flush()
        subprocess.run(list(cmd), check=True, env=env, stdout=handle, stderr=subprocess.STDOUT)

