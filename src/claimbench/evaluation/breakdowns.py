"""Where each configuration fails: F1 by how often the gold code was seen in training, by note length and by codes
per case (beyond paper 000, which reports overall scores only; the best-known ICD-coding reproductions break F1 down
so, and paper 002 plots training frequency against F1, its Figure 5). One implementation for both stages: paper
002's evaluation takes ``per_code_scores``, ``frequency_vs_f1`` and ``spearman`` from here.

- **Training frequency** (per code): a code's training count is the number of training claims that hold it (ICD-10-CM
  and CPT codes as scored; a code never seen counts 0). Codes fall into ``FREQUENCY_BINS`` (unseen, 1-2, 3-9, 10+);
  a bin's precision, recall and F1 are micro averages over its codes' per-code counts (``per_code_scores``: TP, FP,
  FN over cases), so a generated code that is wrong counts against the bin of *its own* training frequency (an
  invented code is unseen) and a missed gold code against its bin's recall.
- **Note length** (per case): the operative note's words (whitespace tokens), in quartiles of the test cases;
  each group scored as the paper scores a test set (``metrics.summarize_codes``: F1 from mean precision and recall).
- **Codes per case** (per case): the number of gold codes of the component (ICD-10-CM codes, CPT codes, modifier
  pairs) in groups 0, 1, 2, 3, 4+, scored the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from claimbench.evaluation.metrics import COMPONENTS, summarize_codes

FREQUENCY_BINS = ((0, 0, "unseen"), (1, 2, "1-2"), (3, 9, "3-9"), (10, None, "10+"))
BREAKDOWN_COLUMNS = ["configuration", "view", "group", "order", "component", "n", "precision", "recall", "f1"]
VIEWS = {"training_frequency": "Training frequency of the code", "note_length": "Note length (words, quartiles)",
         "codes_per_case": "Gold codes in the case"}


def per_code_scores(gold_sets: Sequence[frozenset[str]], predicted_sets: Sequence[frozenset[str]]) -> pd.DataFrame:
    """Per-code TP/FP/FN over charts (chart-aligned code sets), support, precision, recall, F1; sorted by code."""
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    for gold, pred in zip(gold_sets, predicted_sets, strict=True):
        tp.update(gold & pred)
        fp.update(pred - gold)
        fn.update(gold - pred)
    rows = []
    for code in sorted(set(tp) | set(fp) | set(fn)):
        t, p, n = tp[code], fp[code], fn[code]
        rows.append({"code": code, "tp": t, "fp": p, "fn": n, "support": t + n,
                     "precision": t / (t + p) if t + p else 0.0, "recall": t / (t + n) if t + n else 0.0,
                     "f1": 2 * t / (2 * t + p + n) if t else 0.0})
    return pd.DataFrame(rows, columns=["code", "tp", "fp", "fn", "support", "precision", "recall", "f1"])



def spearman(x: pd.Series, y: pd.Series) -> float:
    """Spearman's rank correlation: Pearson's r of the average ranks (ties share their mean rank); NaN with fewer
    than 2 points or a constant series."""
    if len(x) < 2:
        return float("nan")
    rx, ry = x.rank().to_numpy(float), y.rank().to_numpy(float)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = float(np.sqrt((rx**2).sum() * (ry**2).sum()))
    return float((rx * ry).sum()) / denominator if denominator else float("nan")


def frequency_vs_f1(per_code: pd.DataFrame, training_counts: Mapping[str, int], min_cases: int = 10
                    ) -> tuple[pd.DataFrame, float]:
    """Figure 5: per code with support >= ``min_cases`` its training frequency (``metrics.code_frequency`` of the
    training claims at the same level; 0 when never seen) and evaluation F1, and Spearman's rho between the two."""
    eligible = per_code[per_code.support >= min_cases]
    frame = pd.DataFrame({
        "code": eligible.code.to_numpy(),
        "train_count": [int(training_counts.get(code, 0)) for code in eligible.code],
        "support": eligible.support.to_numpy(),
        "f1": eligible.f1.to_numpy(),
    }).sort_values(["train_count", "code"]).reset_index(drop=True)
    return frame, spearman(frame.train_count, frame.f1)


def frequency_bin(count: int) -> tuple[int, str]:
    """(order, label) of a training count in ``FREQUENCY_BINS``."""
    for order, (low, high, label) in enumerate(FREQUENCY_BINS):
        if count >= low and (high is None or count <= high):
            return order, label
    raise ValueError(f"training count {count!r} is negative")


def frequency_bins(per_code: pd.DataFrame, training_counts: Mapping[str, int]) -> pd.DataFrame:
    """Micro precision / recall / F1 per training-frequency bin from ``per_code_scores`` rows: order, group,
    n (gold occurrences: the bin's support), n_codes, tp, fp, fn, precision, recall, f1. Every bin is listed;
    an empty one has NaN scores."""
    bins = per_code.code.map(lambda code: frequency_bin(int(training_counts.get(code, 0))))
    rows = []
    for order, (_, _, label) in enumerate(FREQUENCY_BINS):
        part = per_code[bins.map(lambda b: b[0]) == order]
        tp, fp, fn = (int(part[c].sum()) for c in ("tp", "fp", "fn"))
        rows.append({"order": order, "group": label, "n": tp + fn, "n_codes": int((part.support > 0).sum()),
                     "tp": tp, "fp": fp, "fn": fn,
                     "precision": tp / (tp + fp) if tp + fp else float("nan"),
                     "recall": tp / (tp + fn) if tp + fn else float("nan"),
                     "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")})
    return pd.DataFrame(rows)


def training_counts(claims: Iterable[Mapping[str, Iterable[str]]], component: str) -> Counter:
    """Training claims holding each code of a component (``claims``: per claim, component -> its scored set)."""
    counts: Counter = Counter()
    for claim in claims:
        counts.update(set(claim[component]))
    return counts


def _group_scores(cases: pd.DataFrame, groups: pd.Series, labels: Sequence[str], component: str) -> list[dict]:
    rows = []
    for order, label in enumerate(labels):
        part = cases[groups.to_numpy() == label]
        summary = summarize_codes(part, [component]).iloc[0] if len(part) else None
        rows.append({"order": order, "group": label, "component": component, "n": len(part),
                     **{m: float(summary[m]) if summary is not None else float("nan")
                        for m in ("precision", "recall", "f1")}})
    return rows


def length_groups(words: pd.Series) -> tuple[pd.Series, list[str]]:
    """Each case's note-length quartile as a label naming its word range ("Q1 (88-140)"), and the labels in order.
    Quartile edges are those of the test cases (``pd.qcut``; ties merge quartiles, so there may be fewer than 4)."""
    quartile = pd.qcut(words, 4, labels=False, duplicates="drop")
    labels, out = [], pd.Series("", index=words.index)
    for number in sorted(quartile.unique()):
        members = words[quartile == number]
        label = f"Q{int(number) + 1} ({int(members.min())}-{int(members.max())})"
        labels.append(label)
        out[quartile == number] = label
    return out, labels


def count_groups(counts: pd.Series) -> tuple[pd.Series, list[str]]:
    """Gold codes per case as groups 0, 1, 2, 3, 4+ (only the groups that occur, in order)."""
    labels = counts.clip(upper=4).map(lambda n: "4+" if n >= 4 else str(int(n)))
    return labels, [g for g in ("0", "1", "2", "3", "4+") if (labels == g).any()]


def case_breakdowns(cases: pd.DataFrame, words: Mapping[str, int], counts: Mapping[str, Counter],
                    components: Sequence[str] = COMPONENTS) -> pd.DataFrame:
    """One configuration's F1 by training frequency, note length and codes per case (``BREAKDOWN_COLUMNS`` without
    the configuration). ``words``: encounter -> note words; ``counts``: component -> training counts."""
    rows = []
    for component in ("icd10", "cpt"):
        if component not in components:
            continue
        per_code = per_code_scores([frozenset(g) for g in cases[f"gold_{component}"]],
                                   [frozenset(p) for p in cases[f"pred_{component}"]])
        for row in frequency_bins(per_code, counts[component]).to_dict("records"):
            rows.append({"view": "training_frequency", "component": component,
                         **{k: row[k] for k in ("group", "order", "n", "precision", "recall", "f1")}})
    length = cases.encounter_id.astype(str).map(words)
    if length.isna().any():
        raise ValueError(f"no note for test case {cases.encounter_id[length.isna()].iloc[0]!r}")
    groups, labels = length_groups(length.astype(int))
    for component in components:
        rows += [{"view": "note_length", **r} for r in _group_scores(cases, groups, labels, component)]
        groups_n, labels_n = count_groups(cases[f"gold_{component}"].map(len))
        rows += [{"view": "codes_per_case", **r} for r in _group_scores(cases, groups_n, labels_n, component)]
    return pd.DataFrame(rows, columns=BREAKDOWN_COLUMNS[1:])


def note_words(notes: Iterable[str]) -> list[int]:
    return [len(str(note).split()) for note in notes]


def all_breakdowns(cases: Mapping[str, pd.DataFrame], words: Mapping[str, int], counts: Mapping[str, Counter]
                   ) -> pd.DataFrame:
    frames = [case_breakdowns(frame, words, counts).assign(configuration=name) for name, frame in cases.items()]
    return (pd.concat(frames, ignore_index=True)[BREAKDOWN_COLUMNS] if frames
            else pd.DataFrame(columns=BREAKDOWN_COLUMNS))
