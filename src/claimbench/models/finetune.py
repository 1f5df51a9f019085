"""QLoRA supervised fine-tuning (paper 000, Methods: Fine-tuning), one configuration at a time.

The recipe, as the paper states it: the base model loaded in NF4 4-bit double quantization, bf16 compute, LoRA of
rank 64 / alpha 16 / dropout 0.1 on every linear layer and ``lm_head``, hyperparameters of the QLoRA study, trained on
(operative note -> claim) pairs in the paper's training prompt; the loss is on the claim (the completion) only.
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
from claimbench.models.finetune_plan import deep_merge, settings_for  # noqa: F401 (re-exported)
from claimbench.offline import set_offline_env
from claimbench.prompts import EXAMPLE_KINDS

log = logging.getLogger(__name__)

IGNORE_INDEX = -100  # label value that PyTorch's cross-entropy (and transformers' loss) skips


# ------------------------------------------------------------------------------------------------------- data


def tokenize_pair(tokenizer, prompt: str, completion: str) -> dict:
    """Token ids of prompt + completion, with labels masked (-100) on every prompt token.

    Prompt and completion are tokenized separately, so the prompt ids are exactly what the model is given at
    inference. Both strings carry their own special tokens (templates render BOS / turn markers themselves), so the
    tokenizer adds none.
    """
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return {
        "input_ids": prompt_ids + completion_ids,
        "labels": [IGNORE_INDEX] * len(prompt_ids) + completion_ids,
        "n_prompt": len(prompt_ids),
        "n_completion": len(completion_ids),
    }


def fit_note(tokenizer, op_note: str, claim, family: str, max_seq_length: int, kind: str = "finetuned",
             examples: list | None = None) -> tuple[dict, bool]:
    """The tokenized training pair of one encounter (paper 000's prompts), its note shortened from the end until it
    fits. See ``fit_pair``."""
    from functools import partial

    from claimbench.prompts import training_pair

    pair = partial(training_pair, claim=claim, family=family, tokenizer=tokenizer, kind=kind, examples=examples)
    return fit_pair(tokenizer, op_note, pair, max_seq_length)


def fit_pair(tokenizer, op_note: str, make_pair, max_seq_length: int) -> tuple[dict, bool]:
    """The tokenized pair ``make_pair(note)`` (-> (prompt, completion)), the note shortened from the end until it fits.

    Only the note is cut, never the completion (nor the example claims of a ``rag`` prompt): a truncated target
    would teach the model to stop mid-answer. Returns the example and whether the note was cut. Raises ValueError
    when even an empty note does not fit.
    """
    example = tokenize_pair(tokenizer, *make_pair(op_note))
    if len(example["input_ids"]) <= max_seq_length:
        return example, False
    note_ids = tokenizer(op_note, add_special_tokens=False)["input_ids"]
    keep = len(note_ids)
    # Token counts of a note and of its decoded prefix differ by a few tokens at the cut; converge in a few rounds.
    for _ in range(8):
        keep = max(0, keep - (len(example["input_ids"]) - max_seq_length) - 2)
        note = tokenizer.decode(note_ids[:keep], skip_special_tokens=True)
        example = tokenize_pair(tokenizer, *make_pair(note))
        if len(example["input_ids"]) <= max_seq_length:
            return example, True
        if keep == 0:
            break
    raise ValueError(
        f"the training prompt and completion need {len(example['input_ids'])} tokens even without the note; "
        f"raise finetune.data.max_seq_length ({max_seq_length})"
    )


def _fit_record(row: Mapping, tokenizer, family: str, max_seq_length: int, kind: str, shown,
                codesets: Mapping | None = None) -> tuple[dict, bool]:
    """One record's training example for a prompt kind: paper 000's claim prompts, paper 002's JSON task, or the
    description task (claimbench.grounding.describe; its targets are descriptions in config ``codesets``)."""
    if kind == "describe":
        from claimbench.grounding.describe import training_pair as describe_pair

        return fit_pair(tokenizer, row["op_note"], lambda note: describe_pair(row, note, tokenizer, codesets),
                        max_seq_length)
    if kind == "paper002":
        from claimbench.paper002.task import training_pair as json_pair

        return fit_pair(tokenizer, row["op_note"], lambda note: json_pair(row, note, tokenizer),
                        max_seq_length)
    from claimbench.claim import Claim

    return fit_note(tokenizer, row["op_note"], Claim.from_record(row), family, max_seq_length, kind, shown)


def build_examples(records, tokenizer, family: str, max_examples: int | None, max_seq_length: int,
                   seed: int, kind: str = "finetuned",
                   example_claims: Mapping[str, list[str]] | None = None,
                   codesets: Mapping | None = None) -> tuple[list[dict], dict]:
    """Training examples from the training split: a seeded subset of ``max_examples`` (all when null), tokenized.

    ``kind="rag"`` (retrieval-augmented fine-tuning) puts ``example_claims[encounter_id]`` (the rendered claims of
    the note's nearest other training notes) into each prompt; ``kind="paper002"`` is paper 002's JSON task
    (claimbench.paper002.task). Returns the examples and a summary (counts of used / truncated / skipped encounters
    and tokens).
    """
    frame = records.sample(frac=1.0, random_state=seed) if max_examples else records
    if max_examples:
        frame = frame.head(int(max_examples))
    examples, truncated, skipped = [], 0, 0
    for row in frame.to_dict("records"):
        shown = (example_claims or {}).get(str(row.get("encounter_id"))) if kind in EXAMPLE_KINDS else None
        try:
            example, cut = _fit_record(row, tokenizer, family, max_seq_length, kind, shown, codesets)
        except ValueError as err:
            log.warning("skipping %s: %s", row.get("encounter_id"), err)
            skipped += 1
            continue
        truncated += cut
        example["encounter_id"] = str(row.get("encounter_id", ""))
        examples.append(example)
    if not examples:
        raise ValueError("no training example fits finetune.data.max_seq_length; raise it")
    summary = {
        "n_train_records": int(len(records)),
        "n_examples": len(examples),
        "n_truncated_notes": int(truncated),
        "n_skipped": int(skipped),
        "prompt_tokens": int(sum(e["n_prompt"] for e in examples)),
        "completion_tokens": int(sum(e["n_completion"] for e in examples)),
        "max_example_tokens": int(max(len(e["input_ids"]) for e in examples)),
    }
    return examples, summary


class CompletionCollator:
    """Right-pads a batch: input ids with the pad id, labels with -100 (padding is never a target)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = int(pad_token_id)

    def __call__(self, features: list[dict]) -> dict:
        width = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(features), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        for row, f in enumerate(features):
            n = len(f["input_ids"])
            ids[row, :n] = torch.tensor(f["input_ids"])
            labels[row, :n] = torch.tensor(f["labels"])
            mask[row, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def target_positions(labels: torch.Tensor) -> torch.Tensor:
    """Sequence positions whose logit feeds the loss: p such that the label at p+1 is a target (in any batch row).

    The logit at position p predicts token p+1. Every other logit (the prompt, the first token of each packed example)
    feeds only masked labels; skipping them saves the output-head matmul over most of the sequence (with Gemma-3's
    262k vocabulary, most of the compute). Works for padded batches and for packed sequences alike.
    """
    return (labels[:, 1:] != IGNORE_INDEX).any(dim=0).nonzero().squeeze(-1)


def completion_loss(model, inputs: Mapping, num_items_in_batch=None) -> torch.Tensor:
    """Cross-entropy on the completion tokens only, with logits computed only where a target needs them.

    Normalised by ``num_items_in_batch`` (the Trainer's count of targets over the accumulated micro-batches) when
    given, else by this batch's targets: the same loss transformers' own causal-LM loss computes.
    """
    labels = inputs["labels"]
    keep = target_positions(labels)
    targets = labels[:, 1:][:, keep]
    # use_cache=False: with a cache object, transformers skips the packed-sequence check of the position ids and
    # packed examples would attend to each other (and training has no use for a cache)
    out = model(**{k: v for k, v in inputs.items() if k != "labels"}, logits_to_keep=keep, use_cache=False)
    logits = out.logits.float()
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                             ignore_index=IGNORE_INDEX, reduction="sum")
    count = num_items_in_batch if num_items_in_batch is not None else (targets != IGNORE_INDEX).sum()
    return loss / torch.as_tensor(count, device=loss.device).clamp(min=1)


def make_collator(pad_token_id: int, packing: bool):
    """Packing (paper 002, Methods 2.0.5): each micro-batch's examples become one sequence, position ids restarting
    per example (transformers then keeps attention within each example); else right-padded rows."""
    if packing:
        from transformers import DataCollatorWithFlattening

        return DataCollatorWithFlattening(return_position_ids=True, separator_id=IGNORE_INDEX)
    return CompletionCollator(pad_token_id)


def _trainer_class():
    from transformers import Trainer

    class CompletionOnlyTrainer(Trainer):
        """Trainer whose loss is on the completions, with logits only where a label is a target (same loss, less
        work)."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = completion_loss(model, inputs, num_items_in_batch)
            return (loss, None) if return_outputs else loss

        def _save(self, output_dir=None, state_dict=None):
            # The adapter only. peft would otherwise add the whole (frozen, unchanged) output head / tied embedding
            # matrix because lm_head is a target; the merge step takes those from the base model anyway.
            output_dir = output_dir or self.args.output_dir
            if self.args.should_save:
                Path(output_dir).mkdir(parents=True, exist_ok=True)
            self.accelerator.unwrap_model(self.model, keep_torch_compile=False).save_pretrained(
                output_dir, state_dict=state_dict, is_main_process=self.args.should_save, save_embedding_layers=False
            )

    return CompletionOnlyTrainer


# ---------------------------------------------------------------------------------------------------- training


def training_arguments(settings: Mapping, out_dir: str | Path, seed: int, n_examples: int | None = None):
    """transformers TrainingArguments from the ``finetune`` settings (hyperparameters of the QLoRA study).

    Created before the model is loaded: under DeepSpeed ZeRO-3 this is what makes ``from_pretrained`` shard the
    weights as it loads them.
    """
    from transformers import TrainingArguments

    t = settings["training"]
    gpu = torch.cuda.is_available() and not t.get("use_cpu", False)
    return TrainingArguments(
        output_dir=str(out_dir),
        per_device_train_batch_size=int(t["per_device_batch_size"]),
        gradient_accumulation_steps=int(t["gradient_accumulation_steps"]),
        num_train_epochs=float(t["epochs"]),
        max_steps=int(t.get("max_steps") or -1),
        learning_rate=float(t["learning_rate"]),
        lr_scheduler_type=t["lr_scheduler"],
        warmup_steps=float(t.get("warmup_ratio", 0.0)),
        weight_decay=float(t.get("weight_decay", 0.0)),
        max_grad_norm=float(t["max_grad_norm"]),
        optim=t["optimizer"],
        bf16=bool(t.get("bf16_mixed_precision", False)),
        activation_checkpointing=bool(t.get("gradient_checkpointing", False)),
        activation_checkpointing_kwargs={"use_reentrant": False} if t.get("gradient_checkpointing") else None,
        deepspeed=t.get("deepspeed") or None,
        seed=int(seed),
        data_seed=int(seed),
        full_determinism=bool(t.get("full_determinism", False)),
        use_cpu=not gpu,
        logging_steps=int(t.get("logging_steps", 1)),
        logging_first_step=True,
        disable_tqdm=False,  # progress bars go to the rule's log
        include_num_input_tokens_seen="non_padding",
        save_strategy="no",  # the adapter is saved once, at the end
        eval_strategy="no",  # no eval-mode forward of the 4-bit model (see claimbench.models.quantization)
        report_to="none",
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )


def load_for_training(model_dir: str | Path, settings: Mapping):
    """The base model ready for LoRA: 4-bit NF4 (the paper) or dense, in train mode, with the 4-bit guard attached."""
    from transformers import AutoModelForCausalLM

    from claimbench.models.attention import available_attention
    from claimbench.models.quantization import load_4bit_for_training, torch_dtype

    quant, t = settings["quantization"], settings["training"]
    attn = available_attention(t.get("attn_implementation") or None)[0]  # sdpa where flash-attn cannot run (logged)
    device_map = None
    if torch.cuda.is_available() and not t.get("deepspeed"):
        # One process per GPU without ZeRO-3: each loads the whole 4-bit model on its own device.
        import os

        device_map = {"": int(os.environ.get("LOCAL_RANK", 0))}
    if quant.get("load_in_4bit", True):
        return load_4bit_for_training(model_dir, quant, dtype=t["dtype"], attn_implementation=attn,
                                      device_map=device_map)
    kwargs = {"dtype": torch_dtype(t["dtype"])}
    if attn:
        kwargs["attn_implementation"] = attn
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), **kwargs)
    model.train()
    return model, None


def _param_counts(peft_model, model_dir: str | Path, lora_settings: Mapping) -> dict:
    """Trainable (LoRA) parameters of the live model and the dense base model's size, both counted exactly.

    The total comes from a meta-device model of the same config: the live 4-bit model stores two weights per byte,
    so counting its tensors would halve the quantized layers.
    """
    from claimbench.models.lora import _n, load_config, meta_model

    trainable = sum(_n(p) for p in peft_model.parameters() if p.requires_grad)
    base = meta_model(load_config(model_dir))
    total = sum(_n(p) for p in base.parameters())
    embeddings = _n(base.get_input_embeddings().weight)
    norms = sum(
        _n(p) for mod in base.modules() if "norm" in type(mod).__name__.lower() for p in mod.parameters(recurse=False)
    )
    paper = trainable + embeddings + norms
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
    kind = job.get("prompt") or "finetuned"
    data = settings["data"]
    shown = job.get("example_claims")
    examples, data_summary = build_examples(
        read_encounters(job["train"]), tokenizer, family, data.get("max_examples"), int(data["max_seq_length"]), seed,
        kind, shown, job.get("codesets"),
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
                                       int(data["max_seq_length"]), seed, kind, shown, job.get("codesets"))

    args = training_arguments(settings, adapter_dir.parent / "trainer", seed)
    model, guard = load_for_training(model_dir, settings)
    targets = resolve_target_modules(settings["lora"].get("target_modules"), model)
    peft_model = get_peft_model(model, build_lora_config(settings["lora"], targets))
    counts = _param_counts(peft_model, model_dir, settings["lora"])
    log.info("LoRA on %s: %s trainable of %s (%.2f%%)", targets, f"{counts['trainable_params']:,}",
             f"{counts['total_params']:,}", 100 * counts["trainable_share"])

    packing = bool(settings["training"].get("packing", False))
    collator = make_collator(tokenizer.pad_token_id, packing)
    plain_collator = CompletionCollator(tokenizer.pad_token_id)  # validation: one example at a time

    def new_trainer(run_args, callbacks=()):
        return _trainer_class()(model=peft_model, args=run_args, train_dataset=examples, data_collator=collator,
                                callbacks=list(callbacks))

    def evaluate() -> float:
        from claimbench.models.selection import validation_loss

        return validation_loss(peft_model, validation, plain_collator, completion_loss)

    selection_record: dict = {"enabled": selection.enabled, "n_validation": len(validation)}
    resume = None
    if selection.probes_learning_rate:
        args, selection_record["learning_rate_probe"], resume = _probe_learning_rates(
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


def _stop_at(step: int):
    """A callback that stops a Trainer after ``step`` optimizer steps: a probe then runs the full run's schedule (a
    decaying learning rate decays as in the full run) but only its first steps."""
    from transformers import TrainerCallback

    class StopAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= step:
                control.should_training_stop = True
            return control

    return StopAt()


def _probe_learning_rates(selection, args, peft_model, new_trainer, evaluate, seed: int):
    """Train ``probe_steps`` steps at each candidate rate from the same initial adapter and seed, each probe saving a
    Trainer checkpoint (adapter, optimizer, scheduler, RNG, data position) at its last step. Returns the training
    arguments at the rate with the lowest validation loss, the record of every probe, and the winner's checkpoint.

    The probe at the chosen rate is exactly the full run's first ``probe_steps`` steps (same start, seed, data order
    and schedule), so the full run resumes from its checkpoint instead of training those steps again
    (tests/test_finetune.py checks that the adapter is the same as training afresh)."""
    import dataclasses
    import shutil

    from transformers import set_seed

    from claimbench.models.selection import restore_state, trainable_state

    initial = trainable_state(peft_model)
    steps = int(selection.probe_steps)
    shutil.rmtree(args.output_dir, ignore_errors=True)  # a killed job's probes: never resumed from
    probes, checkpoints = [], []
    for i, rate in enumerate(selection.learning_rates):
        restore_state(peft_model, initial)
        set_seed(seed)
        started = time.time()
        probe_dir = Path(args.output_dir) / f"probe-{i}"
        probe_args = dataclasses.replace(args, learning_rate=rate, output_dir=str(probe_dir), save_strategy="steps",
                                         save_steps=steps, save_only_model=False)
        new_trainer(probe_args, [_stop_at(steps)]).train()
        loss = evaluate()
        probes.append({"learning_rate": rate, "validation_loss": loss, "seconds": round(time.time() - started, 1)})
        checkpoints.append((probe_dir / f"checkpoint-{steps}", trainable_state(peft_model)))
        log.info("learning-rate probe %.2e: validation loss %.4f after %d steps", rate, loss, steps)
    best = min(range(len(probes)), key=lambda i: probes[i]["validation_loss"])
    checkpoint, state = checkpoints[best]
    if checkpoint.is_dir():
        restore_state(peft_model, state)
    else:  # the whole run is shorter than a probe: nothing to resume from, train afresh at the chosen rate
        checkpoint = None
        restore_state(peft_model, initial)
        set_seed(seed)
    record = {"probe_steps": steps, "probes": probes, "chosen": probes[best]["learning_rate"],
              "resumed_from_step": steps if checkpoint else None}
    return dataclasses.replace(args, learning_rate=probes[best]["learning_rate"]), record, checkpoint


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
    run_finetune(json.loads(Path(argv[0]).read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
