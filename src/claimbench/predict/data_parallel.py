"""Data-parallel prediction (paper 000: the model replicated on each GPU, the test set split between them): which
process a worker is, and the check that the processes' shards cover the cases exactly once.

``accelerate launch`` (config/accelerate/multi_gpu.yaml) starts the processes with torchrun's environment (RANK,
WORLD_SIZE). On a machine without CUDA, accelerate's ``PartialState()`` ignores that environment unless told the run
is on CPUs, and every process then believes it is the only one: each predicted every case into shard 0 (measured
with 2 CPU processes). ``process_share`` asks for the CPU state where there is no GPU and refuses a mismatch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


def process_share():
    """This process's accelerate ``PartialState``: on GPUs as accelerate sets it up, on CPUs a gloo group over the
    launched processes. Raises RuntimeError when its process count is not the launcher's WORLD_SIZE."""
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if state.num_processes != launched:
        raise RuntimeError(f"data-parallel prediction: accelerate sees {state.num_processes} process(es) but "
                           f"{launched} were launched (WORLD_SIZE); the shards would overlap")
    return state


def shard_counts(output: str | Path, key: str, order: Sequence[str]) -> dict[str, int]:
    """Cases of ``order`` in each partial file of a data-parallel run of ``key``: ``{"shard0": n, ...}``, with
    ``"single"`` for cases an earlier single-process run left.

    Raises RuntimeError when one case with one prompt is in two files: two processes predicted the same case.
    A case missing from every file is left to ``PredictionStore.finalize``, which refuses to write the output."""
    from claimbench.predict.store import _read_lines, partial_path

    main = partial_path(output, key)
    shards = sorted(main.parent.glob(f"{Path(output).stem}.{key}.shard*.jsonl"),
                    key=lambda p: int(p.stem.rsplit("shard", 1)[1]))
    wanted, owner, counts = set(order), {}, {}
    for path in [p for p in [main, *shards] if p.exists()]:
        cases = {(r["encounter_id"], r.get("prompt_sha256")) for _, r in _read_lines(path)[0]
                 if r["encounter_id"] in wanted}
        twice = sorted(cases & owner.keys())
        if twice:
            raise RuntimeError(f"{path}: {len(twice)} case(s) also predicted in {owner[twice[0]]}, "
                               f"e.g. {twice[0][0]}")
        owner.update(dict.fromkeys(cases, path.name))
        if cases or path != main:
            counts["single" if path == main else path.stem.rsplit(".", 1)[1]] = len(cases)
    return counts
