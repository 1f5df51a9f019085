"""Hyperparameters chosen on the validation split, automatically and on record (never on the test split).

Two choices, both by the mean completion-token loss on a fixed, seeded sample of validation examples:

- **Learning rate.** With more than one candidate in ``finetune.selection.learning_rates``, each trains
  ``probe_steps`` steps from the same initial adapter, the same data order and the same seed; the lowest validation
  loss wins. Those steps are exactly the full run's first ones at that rate, so the full run resumes from the
  winning probe's checkpoint (``claimbench.models.finetune``) instead of training them again.
- **Training length.** During the full run the validation loss is measured every ``eval_steps`` optimizer steps;
  the adapter of the best measurement is kept (early stopping; training stops after ``patience`` measurements
  without improvement). ``epochs`` / ``max_steps`` are then the upper bound.

Everything measured (each probe's loss, the loss curve, the chosen rate and step) goes to ``train_stats.json``.

The validation loss runs the model in train mode with dropout switched off: a 4-bit layer must never run an
eval-mode forward during training (``claimbench.models.quantization``), and dropout would make the measurement noisy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SelectionSettings:
    """``finetune.selection`` (config.yaml says what each means). ``n_validation: 0`` switches selection off."""

    n_validation: int = 0
    learning_rates: tuple[float, ...] = ()
    probe_steps: int = 0
    eval_steps: int | None = None
    patience: int | None = None

    @classmethod
    def from_config(cls, section: dict | None) -> "SelectionSettings":
        section = dict(section or {})
        section["learning_rates"] = tuple(float(x) for x in section.get("learning_rates") or ())
        return cls(**section)

    @property
    def enabled(self) -> bool:
        return self.n_validation > 0

    @property
    def probes_learning_rate(self) -> bool:
        return self.enabled and len(self.learning_rates) > 1 and self.probe_steps > 0


@contextmanager
def dropout_off(model: torch.nn.Module):
    """Dropout modules in eval mode, everything else untouched (4-bit layers stay in train mode)."""
    dropouts = [m for m in model.modules() if isinstance(m, torch.nn.Dropout) and m.training]
    for m in dropouts:
        m.eval()
    try:
        yield
    finally:
        for m in dropouts:
            m.train()


def validation_loss(model, examples: Sequence[dict], collate: Callable, loss_fn: Callable) -> float:
    """Mean completion-token cross-entropy over ``examples``, one example at a time, no gradients."""
    total, count = 0.0, 0
    device = next(model.parameters()).device
    with torch.no_grad(), dropout_off(model):
        for example in examples:
            batch = {k: v.to(device) for k, v in collate([example]).items()}
            n = int((batch["labels"][:, 1:] != -100).sum())
            total += float(loss_fn(model, batch, n)) * n
            count += n
    return total / max(count, 1)


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the trainable (LoRA) parameters: the adapter's state at this moment."""
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


def restore_state(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


def early_stopping_callback(evaluate: Callable[[], float], eval_steps: int, patience: int | None):
    """A transformers TrainerCallback that measures the validation loss every ``eval_steps`` steps and at the end,
    keeps the best adapter state in memory, and stops after ``patience`` measurements without improvement."""
    from transformers import TrainerCallback

    class EarlyStopping(TrainerCallback):
        def __init__(self):
            self.curve: list[dict] = []
            self.best_loss = float("inf")
            self.best_step = 0
            self.best_state: dict | None = None
            self.stopped_early = False
            self._since_best = 0

        def seed(self, step: int, loss: float, model):
            """A measurement made before this run resumed (the winning probe's, at ``step``)."""
            self._record(step, loss, model)

        def _record(self, step: int, loss: float, model):
            self.curve.append({"step": int(step), "validation_loss": loss})
            log.info("step %d: validation loss %.4f", step, loss)
            if loss < self.best_loss:
                self.best_loss, self.best_step, self._since_best = loss, int(step), 0
                self.best_state = trainable_state(model)
            else:
                self._since_best += 1

        def _measure(self, state, model):
            if self.curve and self.curve[-1]["step"] == state.global_step:
                return
            self._record(state.global_step, evaluate(), model)

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step % eval_steps == 0:
                self._measure(state, model)
                if patience is not None and self._since_best >= patience:
                    self.stopped_early = True
                    control.should_training_stop = True
            return control

        def on_train_end(self, args, state, control, model=None, **kwargs):
            self._measure(state, model)

        def record(self) -> dict:
            return {"eval_steps": eval_steps, "patience": patience, "curve": self.curve, "best_step": self.best_step,
                    "best_validation_loss": self.best_loss, "stopped_early": self.stopped_early}

    return EarlyStopping()
