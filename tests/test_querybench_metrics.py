"""Known-answer tests of the query benchmark's parsing, metrics and confidence intervals (hand-computed values)."""

import math

import pandas as pd
import pytest

from claimbench.querybench.codebook import Codebook
from claimbench.querybench.metrics import (
    add_text_similarity,
    matched_digits,
    mean_ci,
    proportion_ci,
    score_response,
    score_responses,
    summarize,
)
from claimbench.querybench.prompt import PROMPT_TEMPLATE, answer_prefix, query_prompt
from claimbench.querybench.systems import SYSTEMS, extract_codes, normalize, predicted_code

ICD10 = SYSTEMS["icd10cm"]
ICD9 = SYSTEMS["icd9cm"]
CPT = SYSTEMS["cpt"]


def toy_icd10():
    billable = {
        "I82.409": "Acute embolism and thrombosis of unspecified deep veins of unspecified lower extremity",
        "I82.401": "Acute embolism and thrombosis of unspecified deep veins of right lower extremity",
        "E11.9": "Type 2 diabetes mellitus without complications",
        "A00.0": "Cholera due to Vibrio cholerae 01, biovar cholerae",
    }
    headers = {"E11": "Type 2 diabetes mellitus", "I82.40": "Acute embolism and thrombosis of deep veins of lower extremity"}
    return Codebook(ICD10, billable, headers, "toy")


def test_prompt_is_the_papers_word_for_word():
    text = query_prompt(ICD10, "Cholera, unspecified")
    assert text == (
        "What is the most correct ICD-10-CM billing code for this description: Cholera, unspecified.\n\n"
        "Only generate a single, VALID ICD-10-CM billing code. Do not explain. ALWAYS respond in the following format:"
        "\n\nCode: ICD-10-CM: E11.9"
    )
    assert PROMPT_TEMPLATE.count("{system}") == 3
    assert answer_prefix(CPT) == "Code: CPT:"


@pytest.mark.parametrize(
    "system,text,expected",
    [
        (ICD10, "Code: ICD-10-CM: I82.409", ["I82409"]),
        (ICD10, "Code: ICD-10-CM: I82.409, I82.410, I82.411.", ["I82409", "I82410", "I82411"]),
        (ICD10, "e11.9 or E119", ["E119", "E119"]),  # repeats kept, case and dot normalised
        (ICD10, "The code is unknown", []),
        (ICD9, "Code: ICD-9-CM: 250.00 (also V45.1 and E849.0)", ["25000", "V451", "E8490"]),
        (ICD9, "ICD-9-CM 10", []),  # the system's name is not a code
        (CPT, "Code: CPT: 27447\nCPT 0075T or 1234", ["27447", "0075T"]),
        (CPT, None, []),
    ],
)
def test_extract_codes(system, text, expected):
    assert extract_codes(text, system) == expected


def test_predicted_code_prefers_the_format_marker():
    assert predicted_code("See 27130 ... Code: CPT: 27447", CPT) == "27447"
    assert predicted_code("27130 is my answer", CPT) == "27130"
    assert predicted_code("Code: CPT: none", CPT) is None
    assert predicted_code("", CPT) is None
    assert normalize(" i82.409 ") == "I82409"


def test_matched_digits_and_length_hand_computed():
    # the paper's slide example: reference I82.409, predicted I82.49 -> I,8,2,4 align; 0 vs 9 differ; 6 ref chars
    assert matched_digits("I82.49", "I82.409") == pytest.approx(100 * 4 / 6)
    assert matched_digits("27447", "27447") == 100.0
    assert matched_digits("27130", "27447") == pytest.approx(40.0)  # 2,7 align
    assert matched_digits("I82.40999", "I82.409") == 100.0  # all reference characters reproduced in place
    facts = score_response("Code: ICD-10-CM: I82.49", "I82.409", toy_icd10())
    assert facts["matched_length"] is False and facts["exact_match"] is False
    assert facts["valid"] is False and facts["fabricated"] is True and facts["predicted_description"] is None


def test_score_response_valid_header_and_exact():
    book = toy_icd10()
    exact = score_response("Code: ICD-10-CM: I82.409", "I82.409", book)
    assert exact["exact_match"] and exact["valid"] and exact["matched_length"] and exact["n_codes"] == 1
    header = score_response("Code: ICD-10-CM: E11", "E11.9", book)  # a category header exists in the system
    assert header["valid"] and not header["exact_match"] and header["predicted_description"] == "Type 2 diabetes mellitus"
    junk = score_response("\x00\ufffd{{{", "E11.9", book)  # malformed output is wrong, never an exception
    assert junk["predicted"] is None and junk["exact_match"] is False and junk["valid"] is None


def test_wilson_and_t_intervals_known_answers():
    # Wilson, k=3, n=5, z=1.959964: centre (0.6 + z^2/10)/(1 + z^2/5) = 0.556553, half-width 0.325828
    value, low, high = proportion_ci(3, 5)
    assert value == 60.0
    assert low == pytest.approx(23.0724, abs=1e-3) and high == pytest.approx(88.2379, abs=1e-3)
    value, low, high = proportion_ci(0, 4)  # Wilson stays inside [0, 1]: (0, z^2/(n+z^2)) = (0, 0.489891)
    assert (value, low) == (0.0, 0.0) and high == pytest.approx(48.9891, abs=1e-3)
    assert all(math.isnan(x) for x in proportion_ci(0, 0))
    # t interval of [1,2,3,4]: mean 2.5, s = 1.290994, se = 0.645497, t(0.975, 3) = 3.182446 -> 2.5 -/+ 2.054260
    mean, low, high = mean_ci([1, 2, 3, 4])
    assert mean == 2.5 and low == pytest.approx(0.445740, abs=1e-5) and high == pytest.approx(4.554260, abs=1e-5)
    assert mean_ci([3.0, 3.0, 3.0]) == (3.0, 3.0, 3.0)
    # [0, 0, 1]: mean 1/3, s = 0.57735, se = 1/3, t(0.975, 2) = 4.302653 -> (-1.0009, 1.6676); clipped below at 0
    mean, low, high = mean_ci([0, 0, 1], bounds=(0.0, float("inf")))
    assert low == 0.0 and high == pytest.approx(1 / 3 + 4.302653 / 3, abs=1e-5)


def test_summarize_hand_computed():
    # the paper's exact-match slide: reference A..E, two of five wrong -> 60%; plus one response without a code
    book = toy_icd10()
    frame = pd.DataFrame(
        {
            "code": ["I82.409", "E11.9", "A00.0", "I82.409", "E11.9", "A00.0"],
            "description": ["ref a", "ref b", "ref c", "ref a", "ref b", "ref c"],
            "response": [
                "Code: ICD-10-CM: I82.409",  # exact, valid, 1 code, len ok, digits 100
                "Code: ICD-10-CM: E11.9",  # exact, valid, 1 code, 100
                "Code: ICD-10-CM: A00.0, A00.1",  # exact (first after marker), 2 codes, 100
                "Code: ICD-10-CM: I82.401",  # wrong, valid, len ok, digits 5/6
                "Code: ICD-10-CM: E11.99",  # wrong, fabricated, len differs, digits 4/4... E,1,1,9 -> 100
                "I do not know",  # no code
            ],
        }
    )
    scored = score_responses(frame, book)
    summary = summarize(scored).set_index("metric")
    assert summary.loc["exact_match", "value"] == pytest.approx(50.0)  # 3/6
    assert summary.loc["incorrect", "count"] == 3 and summary.loc["incorrect", "n"] == 6
    assert summary.loc["no_code", "value"] == pytest.approx(100 / 6)
    assert summary.loc["valid", "value"] == pytest.approx(80.0) and summary.loc["valid", "n"] == 5  # 4/5
    assert summary.loc["fabricated", "value"] == pytest.approx(20.0)
    assert summary.loc["code_frequency", "value"] == pytest.approx(6 / 6)  # 1+1+2+1+1+0
    assert summary.loc["matched_length", "value"] == pytest.approx(80.0)  # 4/5
    assert summary.loc["matched_digits", "value"] == pytest.approx((100 + 100 + 100 + 500 / 6 + 100) / 5)
    assert summary.loc["echoed_example", "count"] == 1 and summary.loc["echoed_example", "n"] == 5  # E11.9


def test_text_similarity_only_for_valid_codes():
    book = toy_icd10()
    frame = pd.DataFrame(
        {"code": ["E11.9", "E11.9"], "description": ["ref", "ref"], "response": ["Code: ICD-10-CM: E11", "Z99.999"]}
    )
    scored = add_text_similarity(
        score_responses(frame, book),
        meteor=lambda ref, hyp: len(hyp) / 100,
        bertscore=lambda cands, refs: [0.5 for _ in cands],
    )
    assert scored.loc[0, "meteor"] == pytest.approx(len("Type 2 diabetes mellitus") / 100)
    assert scored.loc[0, "bertscore"] == 0.5
    assert math.isnan(scored.loc[1, "meteor"]) and math.isnan(scored.loc[1, "bertscore"])
    summary = summarize(scored).set_index("metric")
    assert summary.loc["meteor", "n"] == 1
