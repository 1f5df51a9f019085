"""QLoRA supervised fine-tuning (paper 000, Methods: Fine-tuning), one configuration at a time.

The recipe, as the paper states it: the base model loaded in NF4 4-bit double quantization, bf16 compute, LoRA of
rank 64 / alpha 16 / dropout 0.1 on every linear layer and ``lm_head``, hyperparameters of the QLoRA study, trained on
(operative note -> claim) pairs in the paper's training prompt; the loss is on the claim (the completion) only.
This module is the run (``run_finetune``); the training examples are built by claimbench.models.sft_data, the
collator, loss and Trainer live in claimbench.models.sft_trainer, the learning-rate probes in
claimbench.models.lr_probe.
Multi-GPU runs go through ``accelerate launch`` with DeepSpeed ZeRO-3 (``python -m claimbench.models.finetune JOB``);
on a CPU the same code runs in-process.

Outputs: the adapter (``save_pretrained``) and ``train_stats.json`` with wall time, trainable/total parameters,
steps, tokens and the settings. ``claimbench.models.merge`` merges the adapter into the base model for inference.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import torch

from claimbench.atomic import fresh_partial, partial_path, publish, write_text
from claimbench.models.lr_probe import probe_learning_rates
from claimbench.models.sft_data import build_examples
from claimbench.models.sft_trainer import (
    CompletionCollator,
    completion_loss,
    load_for_training,
    make_collator,
    trainer_class,
    training_arguments,
)
from claimbench.offline import set_offline_env
from claimbench.task import task_of

log = logging.getLogger(__name__)


def _param_counts(peft_model, model_dir: str | Path) -> dict:
    """Trainable (LoRA) parameters of the live model and the dense base model's size, both counted exactly.

    The total comes from a meta-device model of the same config: the live 4-bit model stores two weights per byte,
    so counting its tensors would halve the quantized layers.
    """
    from claimbench.models.lora import base_counts, load_config, meta_model, trainable_count

    trainable = trainable_count(peft_model)
    base = base_counts(meta_model(load_config(model_dir)))
    total = base["total"]
    paper = trainable + base["embeddings"] + base["norms"]
    return {
        "trainable_params": int(trainable),
        "total_params": int(total),
        "trainable_share": trainable / total,
        # Paper 000's counts (201,612,288 and 389,784,576) equal LoRA + input embeddings + norm weights exactly for
        # Phi-3-mini / -medium with these settings; this is the same count for this run's model.
        "trainable_params_paper_convention": int(paper),
        "trainable_share_paper_convention": paper / total,
    }


def _final_loss(log_history: list[dict]) -> float | None:
    losses = [entry["loss"] for entry in log_history if "loss" in entry]
    return float(losses[-1]) if losses else None


def run_finetune(job: Mapping) -> dict:
    """Fine-tune one configuration; write the adapter and train_stats.json. Returns the stats.

    ``job``: configuration, model (config name), model_dir, train (Parquet of the training split), adapter_dir,
    stats (path), settings (the merged ``finetune`` settings), seed, threads (CPU threads; null = torch's default);
    optional: prompt (``finetuned``, the paper's, or ``rag``: retrieval-augmented fine-tuning), validation (Parquet of
    the validation split, for ``settings["selection"]``), example_claims (encounter -> its neighbours' rendered
    claims, for the rag prompt, training and validation notes alike).
    """
    start = time.time()
    set_offline_env()
    if job.get("threads"):
        torch.set_num_threads(int(job["threads"]))
    from peft import get_peft_model
    from transformers import AutoTokenizer, set_seed

    from claimbench.data.io import read_encounters
    from claimbench.models.distributed import distributed_facts, share_process_group_with_deepspeed
    from claimbench.models.lora import build_lora_config, resolve_target_modules
    from claimbench.models.selection import SelectionSettings
    from claimbench.prompts import detect_family

    settings, seed = job["settings"], int(job["seed"])
    set_seed(seed)
    model_dir, adapter_dir = Path(job["model_dir"]), Path(job["adapter_dir"])

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    family = detect_family(model_dir, settings.get("prompt_family"))
    task = task_of(job)
    kind = task.kind
    data = settings["data"]
    shown = job.get("example_claims")
    examples, data_summary = build_examples(
        read_encounters(job["train"]), tokenizer, family, data.get("max_examples"), int(data["max_seq_length"]), seed,
        task, shown,
    )
    log.info("%s: %d training examples (%s), prompt %s, family %s", job["configuration"], len(examples),
             data_summary, kind, family)
    selection = SelectionSettings.from_config(settings.get("selection"))
    if selection.enabled and (not job.get("validation") or settings["training"].get("deepspeed")):
        log.info("validation selection off: %s", "no validation split given" if not job.get("validation")
                 else "not supported under DeepSpeed ZeRO-3 (sharded parameters); config values used as given")
        selection = SelectionSettings()
    validation = []
    if selection.enabled:
        validation, _ = build_examples(read_encounters(job["validation"]), tokenizer, family, selection.n_validation,
                                       int(data["max_seq_length"]), seed, task, shown)

    args = training_arguments(settings, adapter_dir.parent / "trainer", seed)
    share_process_group_with_deepspeed(args)  # before loading: ZeRO-3 partitions the weights as they load
    model, guard = load_for_training(model_dir, settings)
    targets = resolve_target_modules(settings["lora"].get("target_modules"), model)
    peft_model = get_peft_model(model, build_lora_config(settings["lora"], targets))
    counts = _param_counts(peft_model, model_dir)
    log.info("LoRA on %s: %s trainable of %s (%.2f%%)", targets, f"{counts['trainable_params']:,}",
             f"{counts['total_params']:,}", 100 * counts["trainable_share"])

    packing = bool(settings["training"].get("packing", False))
    collator = make_collator(tokenizer.pad_token_id, packing)
    plain_collator = CompletionCollator(tokenizer.pad_token_id)  # validation: one example at a time

    def new_trainer(run_args, callbacks=()):
        return trainer_class()(model=peft_model, args=run_args, train_dataset=examples, data_collator=collator,
                                callbacks=list(callbacks))

    def evaluate() -> float:
        from claimbench.models.selection import validation_loss

        return validation_loss(peft_model, validation, plain_collator, completion_loss)

    selection_record: dict = {"enabled": selection.enabled, "n_validation": len(validation)}
    resume = None
    if selection.probes_learning_rate:
        args, selection_record["learning_rate_probe"], resume = probe_learning_rates(
            selection, args, peft_model, new_trainer, evaluate, seed)
    early = None
    if selection.enabled and selection.eval_steps:
        from claimbench.models.selection import early_stopping_callback

        early = early_stopping_callback(evaluate, int(selection.eval_steps), selection.patience)
        if resume is not None and selection.probe_steps % int(selection.eval_steps) == 0:
            # the winning probe's measurement is the full run's at that step
            probes = selection_record["learning_rate_probe"]["probes"]
            early.seed(int(selection.probe_steps), min(p["validation_loss"] for p in probes), peft_model)
    trainer = new_trainer(args, [early] if early else [])
    train_start = time.time()
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    train_seconds = time.time() - train_start
    if resume is not None:
        import shutil

        shutil.rmtree(Path(args.output_dir), ignore_errors=True)  # the probes' checkpoints
    if early is not None:
        from claimbench.models.selection import restore_state

        selection_record["early_stopping"] = early.record()
        if early.best_state is not None and early.best_step != trainer.state.global_step:
            restore_state(peft_model, early.best_state)
            log.info("kept the adapter of step %d (validation loss %.4f)", early.best_step, early.best_loss)
    selection_record["learning_rate"] = float(args.learning_rate)
    if guard is not None:
        guard.detach()
    # The adapter only (gathered from ZeRO-3 shards where needed), into ADAPTER.partial and then renamed into place:
    # a job killed part-way leaves no adapter that looks finished, and the rerun trains from the start again,
    # seeded, to the same adapter (tests/test_faults.py).
    staging = fresh_partial(adapter_dir) if trainer.is_world_process_zero() else partial_path(adapter_dir)
    trainer.save_model(str(staging))

    state = trainer.state
    stats = {
        "configuration": job["configuration"],
        "model": job.get("model"),
        "model_dir": str(model_dir),
        "stands_in_for": job.get("stands_in_for"),
        "method": "QLoRA" if settings["quantization"].get("load_in_4bit", True) else "LoRA",
        "wall_seconds": None,  # filled below, after saving
        "train_seconds": train_seconds,
        **counts,
        "lora_target_modules": targets,
        "steps": int(state.global_step),
        "epochs": float(state.epoch or 0.0),
        "examples_seen": int(state.global_step * args.per_device_train_batch_size * args.gradient_accumulation_steps
                             * args.world_size),
        "train_tokens": int(state.num_input_tokens_seen),
        "tokens_per_second": state.num_input_tokens_seen / train_seconds if train_seconds > 0 else None,
        "final_loss": _final_loss(state.log_history),
        "mean_train_loss": float(result.training_loss),
        "loss_history": [
            {"step": int(e["step"]), "loss": float(e["loss"])} for e in state.log_history if "loss" in e
        ],
        "data": data_summary,
        "prompt": kind,
        "packing": packing,
        "selection": selection_record,
        "prompt_family": family,
        "world_size": int(args.world_size),
        "distributed": distributed_facts(trainer),  # processes, backend, ZeRO stage, partitioned parameters
        "device": "cuda" if torch.cuda.is_available() and not args.use_cpu else "cpu",
        "threads": torch.get_num_threads(),
        "seed": seed,
        "settings": settings,
        "versions": _versions(),
    }
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(staging))
        publish(staging, adapter_dir)
        if Path(args.output_dir).is_dir() and not any(Path(args.output_dir).iterdir()):
            Path(args.output_dir).rmdir()  # Trainer's working folder; nothing is checkpointed into it
        stats["wall_seconds"] = time.time() - start
        write_text(job["stats"], json.dumps(stats, indent=2, default=str) + "\n")
        log.info("trained %d steps on %d tokens in %.0f s (%.1f tokens/s); final loss %s", stats["steps"],
                 stats["train_tokens"], train_seconds, stats["tokens_per_second"] or math.nan, stats["final_loss"])
    return stats


def _versions() -> dict:
    import bitsandbytes
    import peft
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "bitsandbytes": bitsandbytes.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m claimbench.models.finetune JOB.json``: the entry point ``accelerate launch`` runs on each GPU."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m claimbench.models.finetune JOB.json", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from claimbench.models.distributed import finish_process

    run_finetune(json.loads(Path(argv[0]).read_text()))
    return finish_process(0)


if __name__ == "__main__":
    sys.exit(main())
