"""Format consistency (paper 000, Format Consistency Analysis): ROUGE-L, ROUGE-Lsum and METEOR of each generated claim
against the ground-truth claim written in the training format (``claimbench.claim.render_claim``).

Library choices, so the numbers can be recomputed by anyone:

- ROUGE: Google's ``rouge-score`` (``RougeScorer(["rougeL", "rougeLsum"])``), F-measure, reported ×100 as in the
  paper's Table 2. ``rougeLsum`` treats each line as a sentence (the claim text is line-structured). No stemming by
  default (the library's default; config ``evaluation.rouge_use_stemmer``).
- METEOR: ``nltk.translate.meteor_score.meteor_score`` with its defaults (alpha 0.9, beta 3, gamma 0.5; exact, Porter
  stem and WordNet synonym matching). WordNet 3.0 is read from a local nltk_data folder (``tools/install_wordnet.sh``
  builds one from Debian's wordnet-base + wordnet-sense-index); nothing is downloaded. Tokens: nltk's Treebank word
  tokenizer on the whole text (``word_tokenize(..., preserve_line=True)``), which needs no Punkt model; Hugging Face's
  ``evaluate`` METEOR splits sentences with Punkt first, which only changes tokens at sentence ends.
- Both texts are compared without chat/segment tokens (``<|placeholder2|>`` ..., ``<|end|>``): the reference is
  rendered without them, and they are removed from the generation, so a model is neither rewarded nor penalised for
  special tokens its tokenizer may or may not decode.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path

from claimbench.evaluation.parse import SPECIAL_TOKEN

WORDNET_HELP = (
    "WordNet for METEOR not found. Run tools/install_wordnet.sh (Debian packages wordnet-base + wordnet-sense-index "
    "arranged as nltk_data), or point config evaluation.nltk_data / NLTK_DATA at an nltk_data folder holding "
    "corpora/wordnet. Nothing is downloaded at run time."
)


def structure_text(text: object) -> str:
    """The claim text as compared: special tokens removed, line ends normalised, outer whitespace stripped."""
    if not isinstance(text, str):
        return ""
    text = SPECIAL_TOKEN.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def find_nltk_data() -> Path | None:
    """An nltk_data folder holding corpora/wordnet: one named in NLTK_DATA, else this checkout's
    ``resources/nltk_data`` (where setup.sh runs tools/install_wordnet.sh); None if neither has WordNet."""
    import os

    checkout = Path(__file__).resolve().parents[3] / "resources" / "nltk_data"
    for candidate in (*os.environ.get("NLTK_DATA", "").split(os.pathsep), checkout):
        if candidate and (Path(candidate) / "corpora" / "wordnet" / "lexnames").is_file():
            return Path(candidate)
    return None


def load_wordnet(nltk_data: str | Path | None = None):
    """A WordNetCorpusReader from ``nltk_data``/corpora/wordnet, else from nltk's own search path (NLTK_DATA ...).
    Never downloads: without WordNet it raises FileNotFoundError saying how to install it."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    pointer = None
    if nltk_data and (Path(nltk_data) / "corpora" / "wordnet" / "lexnames").is_file():
        pointer = str((Path(nltk_data) / "corpora" / "wordnet").resolve())
        # nltk >= 3.10 opens corpus files only under its data roots (nltk.data.path, NLTK_DATA): register this one.
        data_root = str(Path(nltk_data).resolve())
        if data_root not in nltk.data.path:
            nltk.data.path.insert(0, data_root)
    else:
        try:  # any nltk_data nltk already knows (NLTK_DATA, ~/nltk_data, ...)
            pointer = nltk.data.find("corpora/wordnet")
        except LookupError:
            where = f"{Path(nltk_data) / 'corpora' / 'wordnet'}: no WordNet there, nor on nltk's path. " if nltk_data else ""
            raise FileNotFoundError(where + WORDNET_HELP) from None
    class EnglishWordNet(WordNetCorpusReader):
        """WordNet without the multilingual (OMW) version map. nltk 3.10 builds it at every load, mapping WordNet
        3.0 onto itself from index.sense (about 4 of the 7 s a load takes here, in every scoring job); only OMW's
        language data reads it, and METEOR looks up English synsets."""

        def map_wn(self, version="wordnet"):
            return None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": OMW is not needed for METEOR
        return EnglishWordNet(pointer, None)


def tokenize(text: str) -> list[str]:
    from nltk.tokenize import word_tokenize

    return word_tokenize(text, preserve_line=True)


class StructureScorer:
    """ROUGE-L, ROUGE-Lsum (F-measure, 0..1) and METEOR (0..1) of generated claims against reference claims."""

    def __init__(self, wordnet=None, nltk_data: str | Path | None = None, rouge_use_stemmer: bool = False):
        from rouge_score import rouge_scorer

        self.rouge = rouge_scorer.RougeScorer(["rougeL", "rougeLsum"], use_stemmer=rouge_use_stemmer)
        self.wordnet = wordnet if wordnet is not None else load_wordnet(nltk_data)

    def meteor(self, generated: str, reference: str) -> float:
        from nltk.translate.meteor_score import meteor_score

        return float(meteor_score([tokenize(reference)], tokenize(generated), wordnet=self.wordnet))

    def score(self, generated: object, reference: str) -> dict[str, float]:
        hyp, ref = structure_text(generated), structure_text(reference)
        rouge = self.rouge.score(ref, hyp)  # rouge-score's order: target, prediction
        return {
            "rougeL": rouge["rougeL"].fmeasure,
            "rougeLsum": rouge["rougeLsum"].fmeasure,
            "meteor": self.meteor(hyp, ref),
        }

    def score_many(self, generated: Sequence[object], references: Sequence[str]) -> list[dict[str, float]]:
        if len(generated) != len(references):
            raise ValueError(f"{len(generated)} generated texts but {len(references)} references")
        return [self.score(g, r) for g, r in zip(generated, references)]
