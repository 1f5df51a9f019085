"""Paper 002's data: the fixed 95/5 train/evaluation split of the evidence-linked charts, a validation slice of the
training part (for the choices made on validation data), and note-pair augmentation of the training part only.

The evaluation partition is decided per chart by a hash of its id and the seed, not by its position: a chart stays in
its partition whatever else the extract holds (paper 002: "splits preserved across experiments to prevent leakage").
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

EVIDENCE = "icd10_evidence"


def in_evaluation(encounter_id: str, share: float, seed: int) -> bool:
    """Whether a chart is in the evaluation partition: its id's seeded hash, read as a number in [0, 1), is < share."""
    digest = hashlib.sha256(f"{seed}:{encounter_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def require_evidence(frame: pd.DataFrame, source: str) -> None:
    """Paper 002 trains and scores evidence: stop with one line when the extract carries no evidence links."""
    if EVIDENCE not in frame.columns or not any(isinstance(v, list | np.ndarray) and len(v) for v in frame[EVIDENCE]):
        raise ValueError(f"{source}: no chart has field {EVIDENCE!r}; paper 002's stage needs evidence-linked labels "
                         "(the synthetic charts have them). Set paper002.enabled: false for an extract without them.")


def split_charts(frame: pd.DataFrame, evaluation_share: float, n_validation: int, seed: int) -> dict[str, pd.DataFrame]:
    """{"train", "validation", "evaluation"}: the hash partition, then a seeded validation slice of the training part
    (``n_validation`` charts, never trained on)."""
    ids = frame["encounter_id"].astype(str)
    evaluation = ids.map(lambda e: in_evaluation(e, evaluation_share, seed))
    rest = frame[~evaluation.to_numpy()].sort_values("encounter_id", kind="stable")
    validation_ids = set(rest["encounter_id"].sample(n=min(int(n_validation), len(rest)), random_state=seed))
    is_validation = rest["encounter_id"].isin(validation_ids).to_numpy()
    return {
        "train": rest[~is_validation].reset_index(drop=True),
        "validation": rest[is_validation].reset_index(drop=True),
        "evaluation": frame[evaluation.to_numpy()].sort_values("encounter_id", kind="stable").reset_index(drop=True),
    }


def augmented_training(train: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, int]:
    """The training part with note-pair composites appended (paper 002, Methods 2.0.5: 30% of the ICD-10-CM training
    set); returns the frame and the number of composites. Training only: evaluation charts are never paired."""
    from claimbench.paper002.augment import pair_notes

    composites = pair_notes(train.to_dict("records"), share=share, seed=seed) if share > 0 else []
    if not composites:
        return train, 0
    return pd.concat([train, pd.DataFrame(composites)], ignore_index=True), len(composites)


def prepare(frame: pd.DataFrame, evaluation_share: float, n_validation: int, augmentation_share: float, seed: int,
            source: str = "the extract") -> tuple[dict[str, pd.DataFrame], dict]:
    """The three partitions (training augmented) and a summary of sizes and labels for the report."""
    require_evidence(frame, source)
    parts = split_charts(frame, evaluation_share, n_validation, seed)
    n_train_notes = len(parts["train"])
    parts["train"], n_composites = augmented_training(parts["train"], augmentation_share, seed)
    summary = {
        "n_charts": int(len(frame)),
        "evaluation_share": evaluation_share,
        "n_train_notes": n_train_notes,
        "n_composites": n_composites,
        "augmentation_share": augmentation_share,
        "n_train": int(len(parts["train"])),
        "n_validation": int(len(parts["validation"])),
        "n_evaluation": int(len(parts["evaluation"])),
        "labels_per_chart": {
            name: float(np.mean([len(codes) for codes in part["icd10"]])) if len(part) else None
            for name, part in parts.items()
        },
    }
    return parts, summary
