"""Learning-rate probes (config ``finetune.selection.learning_rates``, beyond the paper): a few steps at each
candidate rate from the same start, the rate with the lowest validation loss kept, its probe resumed as the run."""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


def stop_at(step: int):
    """A callback that stops a Trainer after ``step`` optimizer steps: a probe then runs the full run's schedule (a
    decaying learning rate decays as in the full run) but only its first steps."""
    from transformers import TrainerCallback

    class StopAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= step:
                control.should_training_stop = True
            return control

    return StopAt()


def probe_learning_rates(selection, args, peft_model, new_trainer, evaluate, seed: int):
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
        new_trainer(probe_args, [stop_at(steps)]).train()
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
