"""Fine-tuning on several processes (``accelerate launch`` with DeepSpeed ZeRO-3, profiles/paper and
profiles/multiprocess): what the processes share, and the facts a run records about how it was distributed.

Kept free of heavy imports at module level: scripts/finetune.py imports it before deciding how to launch.
"""

from __future__ import annotations

from collections.abc import Mapping


def threads_per_process(threads: int | None, launch: Mapping | None) -> int | None:
    """CPU threads for each process of a job given ``threads`` in all: the rule's threads split between the
    ``launch.num_processes`` processes (at least one each), so 2 processes on a 2-thread job do not run 4 threads."""
    if not threads:
        return threads
    processes = int((launch or {}).get("num_processes", 1)) if (launch or {}).get("accelerate_config") else 1
    return max(1, int(threads) // max(1, processes))


def token_average_scale(trainer, num_items_in_batch) -> int:
    """The factor that makes a per-process loss normalised by the *global* target count give the gradient of the
    global mean once the processes' gradients are averaged (DDP, DeepSpeed): the number of processes.

    transformers' Trainer counts targets over all processes (``average_tokens_across_devices``) and scales its own
    ``compute_loss`` by the process count; a Trainer that overrides ``compute_loss`` must do the same, else every
    multi-process step takes a 1/N-sized step (measured: the logged loss of 2 processes was half the 1-process one).
    """
    args = trainer.args
    if num_items_in_batch is None or not args.average_tokens_across_devices or args.world_size <= 1:
        return 1
    return int(trainer.accelerator.num_processes)


def distributed_facts(trainer) -> dict:
    """How a finished training run was distributed, for train_stats.json: processes, backend, DeepSpeed engine and
    ZeRO stage, and whether the model's parameters (the 4-bit packed weights among them) were partitioned."""
    import torch

    model = trainer.model_wrapped
    facts = {
        "world_size": int(trainer.args.world_size),
        "backend": torch.distributed.get_backend() if torch.distributed.is_initialized() else None,
        "engine": type(model).__name__,
        "zero_stage": None,
    }
    if trainer.is_deepspeed_enabled:
        facts["zero_stage"] = int(model.zero_optimization_stage())
        facts.update(partitioned_parameters(model.module))
    return facts


def partitioned_parameters(module) -> dict:
    """Counts of ZeRO-3-partitioned parameters (those DeepSpeed gave a ``ds_numel``), overall and among the 4-bit
    packed weights (bitsandbytes ``Params4bit``), with the elements this process holds of them."""
    params = list(module.parameters())
    four_bit = [p for p in params if type(p).__name__ == "Params4bit"]
    return {
        "n_parameters": len(params),
        "n_partitioned": sum(hasattr(p, "ds_numel") for p in params),
        "n_4bit": len(four_bit),
        "n_4bit_partitioned": sum(hasattr(p, "ds_numel") for p in four_bit),
        "local_elements": int(sum(p.ds_tensor.numel() if hasattr(p, "ds_tensor") else p.numel() for p in params)),
        "total_elements": int(sum(getattr(p, "ds_numel", p.numel()) for p in params)),
    }


def share_process_group_with_deepspeed(args) -> None:
    """Hand the process group that accelerate started to DeepSpeed's communication layer, if it has none yet.

    On GPUs accelerate starts the group through ``deepspeed.comm``; on CPUs (``use_cpu``) it starts a plain torch
    (gloo) group, and ``zero.Init`` (transformers' partitioned loading of a dense model under ZeRO-3) then sees
    ``deepspeed.comm`` uninitialised, takes a world size of 1 and refuses the batch sizes
    ("train_batch_size ... 2 != 1 * 1 * 1"). DeepSpeed adopts an existing torch group as it is.
    """
    if not args.deepspeed:
        return
    import torch

    if args.world_size > 1 and torch.distributed.is_initialized():
        from deepspeed import comm

        if not comm.is_initialized():
            comm.init_distributed(dist_backend=torch.distributed.get_backend(), auto_mpi_discovery=False)


def end_process_group() -> None:
    """Destroy the default process group, if this process joined one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def finish_process(code: int) -> int:
    """End a process of a launched multi-process run once its work is saved: leave the process group, flush, and
    exit at once with ``code``, skipping the interpreter's teardown. On a 2-process CPU run (gloo, DeepSpeed's shared
    memory ops) a process intermittently aborted in that teardown ("terminate called without an active exception",
    exit code -6) after its work was done and saved, even with its group destroyed, and the launcher then failed the
    job. A single process (no ``WORLD_SIZE`` above 1) returns ``code`` and exits as usual."""
    import logging
    import os
    import sys

    end_process_group()
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return code
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
