"""METEOR and BERTScore as the query benchmark wires them: hand-computed METEOR, BERTScore's fixed points."""

import pytest

from claimbench.evaluation.structure import WORDNET_HELP, find_nltk_data
from claimbench.querybench.textsim import bertscore_scorer, meteor_scorer


@pytest.fixture(scope="module")
def meteor():
    nltk_data = find_nltk_data()
    if nltk_data is None:  # WordNet is part of the set-up (tools/install_wordnet.sh): its absence is a failure
        pytest.fail(WORDNET_HELP)
    return meteor_scorer(nltk_data)


def test_meteor_by_hand(meteor):
    # identical 4 tokens: P = R = 1, one chunk, penalty 0.5 * (1/4)^3 = 0.0078125 -> 0.9921875
    assert meteor("acute kidney failure unspecified", "acute kidney failure unspecified") == pytest.approx(0.9921875)
    # the paper's slide: "diabetes mellitus without complication" vs "diabetes without complications":
    # 3 matches (2 exact, complications~complication by stem), P = 3/3, R = 3/4,
    # Fmean = 10PR / (R + 9P) = 0.769231; chunks {diabetes} {without complications} = 2 -> penalty 0.5 (2/3)^3
    # = 0.148148 -> 0.769231 * 0.851852 = 0.655271
    assert meteor("diabetes mellitus without complication", "diabetes without complications") == pytest.approx(
        0.655271, abs=1e-5
    )
    assert meteor("fracture of femur", "cholera") == 0.0


def test_bertscore_fixed_points():
    score = bertscore_scorer()
    same, close, far = score(
        ["Type 2 diabetes mellitus without complications", "diabetes without complications", "Cholera, unspecified"],
        ["Type 2 diabetes mellitus without complications", "diabetes mellitus without complication",
         "Displaced fracture of shaft of left femur"],
    )
    assert same == pytest.approx(1.0, abs=1e-5)  # identical text: every token matches itself, cosine 1
    assert far < close < same
    assert score([], []) == []
