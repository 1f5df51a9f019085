"""The training machinery of fine-tuning: the collator, the completion-only loss, the Trainer subclass, the
TrainingArguments from config and the base model loaded for LoRA."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from claimbench.models.sft_data import IGNORE_INDEX


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


def trainer_class():
    from transformers import Trainer

    class CompletionOnlyTrainer(Trainer):
        """Trainer whose loss is on the completions, with logits only where a label is a target (same loss, less
        work)."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            from claimbench.models.distributed import token_average_scale

            loss = completion_loss(model, inputs, num_items_in_batch) * token_average_scale(self, num_items_in_batch)
            return (loss, None) if return_outputs else loss

        def _save(self, output_dir=None, state_dict=None):
            # The adapter only. peft would otherwise add the whole (frozen, unchanged) output head / tied embedding
            # matrix because lm_head is a target; the merge step takes those from the base model anyway.
            output_dir = output_dir or self.args.output_dir
            if not self.args.should_save:
                return  # under ZeRO-3 the gathered adapter is rank 0's; the others hold empty partitions
            Path(output_dir).mkdir(parents=True, exist_ok=True)
            self.accelerator.unwrap_model(self.model, keep_torch_compile=False).save_pretrained(
                output_dir, state_dict=state_dict, save_embedding_layers=False
            )

    return CompletionOnlyTrainer


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
