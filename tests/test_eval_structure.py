"""Structure metrics: the wrappers give the libraries' own results, and hand-computed values on small strings."""

from __future__ import annotations

import pytest
from nltk.translate.meteor_score import meteor_score
from rouge_score import rouge_scorer

from claimbench.claim import PHI3_SEGMENT_TOKENS, Claim, CptLine, render_claim
from claimbench.evaluation.structure import (
    WORDNET_HELP,
    StructureScorer,
    find_nltk_data,
    load_wordnet,
    structure_text,
    tokenize,
)


@pytest.fixture(scope="module")
def scorer():
    # WordNet comes from the set-up (tools/install_wordnet.sh); its absence is a set-up failure, not a skip
    nltk_data = find_nltk_data()
    if nltk_data is None:
        pytest.fail(WORDNET_HELP)
    return StructureScorer(nltk_data=nltk_data)


CLAIM = Claim(
    icd10=("H25.11", "E11.9"),
    cpt_lines=(CptLine("Dr A", "66984", ("RT",), "Cataract removal with lens implant"),),
)


def test_rouge_by_hand(scorer):
    # flattened LCS of "a b c d" and "c d a b" is 2 -> F 0.5; per line, each reference line is matched whole -> 1.0
    scores = scorer.score("c d\na b", "a b\nc d")
    assert scores["rougeL"] == pytest.approx(0.5)
    assert scores["rougeLsum"] == pytest.approx(1.0)
    assert scorer.score("a c d e", "a b c d")["rougeL"] == pytest.approx(0.75)


def test_meteor_by_hand_uses_wordnet_synonyms(scorer):
    # "auto" ~ "car" only through WordNet: 3 matches in 1 chunk -> (1 - 0.5 (1/3)^3) * 1 = 53/54
    assert scorer.meteor("the auto stopped", "the car stopped") == pytest.approx(53 / 54)
    # 2 matches in 2 chunks: P = R = 2/3, Fmean = 2/3, penalty 0.5 -> 1/3
    assert scorer.meteor("the banana stopped", "the car stopped") == pytest.approx(1 / 3)
    assert scorer.meteor("", "the car stopped") == 0.0


def test_wrappers_match_the_libraries_on_claim_text(scorer):
    reference = render_claim(CLAIM)
    generated = (
        "<|placeholder2|>ICD-10-CM Diagnoses:\n\nH25.11, E11.65<|placeholder3|>\n\n<|placeholder4|>CPT Codes with "
        "Modifiers:\n\nProvider Name: Dr A\nProvider Billables:\nCPT 1: 66984 | Modifiers: LT | Description: "
        "Removal of cataract with an intraocular lens<|placeholder5|><|end|>"
    )
    ours = scorer.score(generated, reference)
    plain_generated = generated
    for token in (*PHI3_SEGMENT_TOKENS.values(), "<|end|>"):
        plain_generated = plain_generated.replace(token, "")
    library = rouge_scorer.RougeScorer(["rougeL", "rougeLsum"], use_stemmer=False).score(
        reference, plain_generated.strip()
    )
    assert ours["rougeL"] == pytest.approx(library["rougeL"].fmeasure)
    assert ours["rougeLsum"] == pytest.approx(library["rougeLsum"].fmeasure)
    expected = meteor_score([tokenize(reference)], tokenize(plain_generated.strip()), wordnet=scorer.wordnet)
    assert ours["meteor"] == pytest.approx(expected)
    assert 0 < ours["meteor"] < 1 and 0 < ours["rougeL"] < 1


def test_wordnet_without_the_multilingual_map_scores_as_nltks_own_reader(scorer):
    """load_wordnet skips the OMW version map (seconds per scoring job); METEOR's synsets are nltk's own."""
    import warnings

    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    assert scorer.wordnet.map30 is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = WordNetCorpusReader(scorer.wordnet.root.path, None)
    assert plain.map30  # nltk built it
    for word in ("car", "stopped", "cataract", "removal", "implant"):
        assert scorer.wordnet.synsets(word) == plain.synsets(word)
    pairs = [("the auto stopped", "the car stopped"), (render_claim(CLAIM), "Removal of cataract with lens implant")]
    for generated, reference in pairs:
        expected = meteor_score([tokenize(reference)], tokenize(generated), wordnet=plain)
        assert scorer.meteor(generated, reference) == pytest.approx(expected)


def test_identical_claims_score_one_and_segment_tokens_do_not_matter(scorer):
    reference = render_claim(CLAIM)
    assert scorer.score(render_claim(CLAIM, PHI3_SEGMENT_TOKENS), reference)["rougeL"] == pytest.approx(1.0)
    perfect = scorer.score(reference, reference)
    assert perfect["rougeLsum"] == pytest.approx(1.0)
    assert perfect["meteor"] > 0.99  # METEOR's fragmentation penalty keeps even a perfect match just below 1


def test_non_text_generation_scores_zero(scorer):
    assert scorer.score(None, render_claim(CLAIM)) == {"rougeL": 0.0, "rougeLsum": 0.0, "meteor": 0.0}
    assert structure_text(float("nan")) == ""


def test_missing_wordnet_is_a_clear_error_and_nothing_is_downloaded(tmp_path, monkeypatch):
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "elsewhere")])
    monkeypatch.setattr(nltk, "download", lambda *a, **k: pytest.fail("nltk.download called"))
    with pytest.raises(FileNotFoundError, match="install_wordnet"):
        load_wordnet(tmp_path)
