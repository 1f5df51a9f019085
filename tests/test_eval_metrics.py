"""Case-level metrics and code validity: hand-computed answers, including the edge cases chosen in metrics.py."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from claimbench.evaluation.cases import read_predictions, score_cases
from claimbench.evaluation.metrics import (
    case_scores,
    component_sets,
    f1_from_means,
    score_case,
    summarize_codes,
)
from claimbench.evaluation.validity import ReferenceSets, count_valid, summarize_validity


def test_case_scores_partial_overlap():
    # M = {A, B, C}, P = {A, D}: |M∩P| = 1 -> precision 1/3, recall 1/2
    assert case_scores(["A", "B", "C"], ["A", "D"]) == (pytest.approx(1 / 3), 0.5, False)


def test_case_scores_edge_cases():
    assert case_scores([], ["A"]) == (0.0, 0.0, False)  # empty prediction (unparseable output)
    assert case_scores(["A"], []) == (0.0, 0.0, False)  # codes where the coder billed none
    assert case_scores([], []) == (1.0, 1.0, True)  # nothing to code, nothing coded (in a parseable claim)
    assert case_scores([], [], answered=False) == (0.0, 0.0, False)  # no claim at all is never a match
    assert case_scores(["A", "A", "B"], ["B", "A"]) == (1.0, 1.0, True)  # duplicates and order do not count
    assert case_scores(["A", "A", "C"], ["A", "B"]) == (0.5, 0.5, False)  # {A, C} vs {A, B}


def test_empty_modifiers_match_only_inside_a_parseable_claim():
    gold = component_sets(["H25.11"], [("66984", ())])
    claim_without_modifiers = component_sets(["H25.11"], [("66984", ())])
    prose = component_sets([], [])
    assert score_case(claim_without_modifiers, gold)["modifier_full_match"]
    row = score_case(prose, gold)
    assert not row["parseable_claim"]
    assert (row["modifier_precision"], row["modifier_recall"], row["modifier_full_match"]) == (0.0, 0.0, False)
    assert (row["modifier_set_precision"], row["modifier_set_full_match"]) == (0.0, False)


def test_f1_is_from_the_means_not_a_mean_of_case_f1s():
    # case 1: P=1, R=1/4 (case F1 0.4); case 2: P=1/4, R=1 (case F1 0.4). The mean of case F1s would be 0.4;
    # the paper's F1 uses the means P = R = 5/8, so F1 = 5/8.
    cases = [case_scores(["A"], ["A", "B", "C", "D"]), case_scores(["A", "B", "C", "D"], ["A"])]
    mean_p = sum(c[0] for c in cases) / 2
    mean_r = sum(c[1] for c in cases) / 2
    assert (mean_p, mean_r) == (5 / 8, 5 / 8)
    assert f1_from_means(5 / 8, 5 / 8) == pytest.approx(5 / 8)
    assert f1_from_means(0.0, 0.0) == 0.0
    assert math.isnan(f1_from_means(float("nan"), 0.5))
    assert f1_from_means(0.72, 0.65) == pytest.approx(2 * 0.72 * 0.65 / 1.37)


def test_modifiers_are_matched_per_cpt_line_and_per_claim():
    predicted = component_sets(["H25.11"], [("66984", ["RT"]), ("67028", [])])
    gold = component_sets(["H25.11"], [("66984", []), ("67028", ["RT"])])
    assert predicted["modifier"] == {"66984-RT"} and gold["modifier"] == {"67028-RT"}
    row = score_case(predicted, gold)
    # RT on the wrong procedure: wrong as a (CPT, modifier) pair, right as a claim-level modifier set
    assert (row["modifier_precision"], row["modifier_recall"], row["modifier_full_match"]) == (0.0, 0.0, False)
    assert (row["modifier_set_precision"], row["modifier_set_recall"]) == (1.0, 1.0)
    assert row["cpt_full_match"] and row["icd10_full_match"]


def test_providers_are_not_part_of_the_key():
    # surgeon and assistant bill 27447: one CPT code; the assistant's 80 is its own pair
    sets = component_sets([], [("27447", ["RT"]), ("27447", ["80", "RT"])])
    assert sets["cpt"] == {"27447"}
    assert sets["modifier"] == {"27447-RT", "27447-80"}
    assert sets["modifier_set"] == {"RT", "80"}


def _cases(rows):
    frame = pd.DataFrame(rows)
    for component in ("icd10", "cpt", "modifier", "modifier_set"):
        for metric in ("precision", "recall", "full_match"):
            frame[f"{component}_{metric}"] = frame["s"].map(lambda s, c=component, m=metric: s[f"{c}_{m}"])
        frame[f"gold_{component}"] = frame["g"].map(lambda g, c=component: sorted(g[c]))
    return frame


def test_summary_over_three_cases_by_hand():
    claims = [
        # (predicted icd, predicted lines, gold icd, gold lines)
        (["A00.0", "B01.1"], [("11111", ["RT"])], ["A00.0"], [("11111", ["RT"])]),
        ([], [], ["C02.2"], [("22222", [])]),  # unparseable output
        (["D03.3"], [("33333", ["LT"]), ("44444", [])], ["D03.3", "E04.4"], [("33333", [])]),
    ]
    rows = []
    for p_icd, p_lines, g_icd, g_lines in claims:
        p, g = component_sets(p_icd, p_lines), component_sets(g_icd, g_lines)
        rows.append({"s": score_case(p, g), "g": g})
    summary = summarize_codes(_cases(rows)).set_index("component")
    # ICD: P = (1/2 + 0 + 1)/3 = 1/2, R = (1 + 0 + 1/2)/3 = 1/2, full match 0/3
    assert summary.loc["icd10", "precision"] == pytest.approx(0.5)
    assert summary.loc["icd10", "recall"] == pytest.approx(0.5)
    assert summary.loc["icd10", "f1"] == pytest.approx(0.5)
    assert summary.loc["icd10", "full_match"] == 0.0
    # CPT: P = (1 + 0 + 1/2)/3 = 1/2, R = (1 + 0 + 1)/3 = 2/3, F1 = 2(1/2)(2/3)/(7/6) = 4/7, full match 1/3
    assert summary.loc["cpt", "precision"] == pytest.approx(0.5)
    assert summary.loc["cpt", "recall"] == pytest.approx(2 / 3)
    assert summary.loc["cpt", "f1"] == pytest.approx(4 / 7)
    assert summary.loc["cpt", "full_match"] == pytest.approx(1 / 3)
    # Modifier pairs: case 1 {11111-RT} = gold -> 1,1; case 2 both empty but no parseable claim -> 0,0 (no match);
    # case 3 {33333-LT} vs {} -> 0,0
    assert summary.loc["modifier", "precision"] == pytest.approx(1 / 3)
    assert summary.loc["modifier", "recall"] == pytest.approx(1 / 3)
    assert summary.loc["modifier", "full_match"] == pytest.approx(1 / 3)
    assert summary.loc["modifier", "n_empty_gold"] == 2
    assert summary.loc["icd10", "n_cases"] == 3


def test_count_valid_uses_distinct_codes():
    assert count_valid(["A", "A", "B", "Z"], frozenset({"A", "B"})) == (3, 2)
    assert count_valid([], frozenset({"A"})) == (0, 0)


def test_validity_summary_pools_over_cases_and_has_no_share_without_codes():
    cases = pd.DataFrame(
        {"icd10_generated": [3, 1, 0], "icd10_valid": [2, 0, 0], "cpt_generated": [0, 0, 0], "cpt_valid": [0, 0, 0]}
    )
    summary = summarize_validity(cases, ["icd10", "cpt"]).set_index("component")
    assert summary.loc["icd10", "valid"] == pytest.approx(0.5)  # 2 of 4, not the mean of 2/3 and 0/1
    assert summary.loc["icd10", "fabricated"] == pytest.approx(0.5)
    assert math.isnan(summary.loc["cpt", "valid"])


def test_reference_sets_follow_the_fiscal_year_and_the_cpt_catalog_years(tmp_path):
    catalog = tmp_path / "cpt.csv"
    catalog.write_text("cpt,description,first_year,last_year\n11111,old,,2020\n22222,new,2021,\n33333,always,,\n")
    refs = ReferenceSets(cpt_catalog=str(catalog))
    # U07.1 (COVID-19) entered ICD-10-CM in FY2021's code set (1 October 2020)
    assert "U07.1" in refs.icd10cm(2021) and "U07.1" not in refs.icd10cm(2020)
    assert "E11.9" in refs.icd10cm(2024) and "E11" not in refs.icd10cm(2024)  # a category header is not billable
    assert refs.cpt(2020) == {"11111", "33333"}
    assert refs.cpt(2021) == {"22222", "33333"}
    assert "RT" in refs.modifiers


def test_score_cases_end_to_end_on_a_fixture(tmp_path):
    test = pd.DataFrame(
        [
            {
                "encounter_id": "e1", "surgery_date": "2020-10-05", "fiscal_year": 2021, "service": "Ophthalmology",
                "icd10": ["U07.1", "H25.11"],
                "cpt_lines": [{"provider": "Dr A", "cpt": "66984", "modifiers": ["RT"], "description": "x"}],
            },
            {
                "encounter_id": "e2", "surgery_date": "2020-09-30", "fiscal_year": 2020, "service": "Orthopedics",
                "icd10": ["M17.11"],
                "cpt_lines": [{"provider": "Dr B", "cpt": "27447", "modifiers": ["RT"], "description": "y"}],
            },
            {
                "encounter_id": "e3", "surgery_date": "2021-01-02", "fiscal_year": 2021, "service": "Orthopedics",
                "icd10": ["M17.12"], "cpt_lines": [{"provider": "Dr B", "cpt": "27447", "modifiers": [], "description": ""}],
            },
        ]
    )
    path = tmp_path / "p.jsonl"
    path.write_text(
        '{"encounter_id": "e1", "generated_text": "ICD-10-CM Diagnoses:\\nu07.1, H2511\\nCPT Codes:\\nCPT 1: 66984 | Modifiers: LT"}\n'
        '{"encounter_id": "e2", "generated_text": "ICD-10-CM Diagnoses:\\nU07.1, E11\\nCPT Codes:\\nCPT 1: 27447 | Modifiers: RT"}\n'
        "not json\n"
        '{"encounter_id": "zz", "generated_text": "ICD-10-CM Diagnoses: I10"}\n'
    )
    predictions = read_predictions(path)
    assert list(predictions.encounter_id) == ["e1", "e2", "zz"]
    cases = score_cases(test, predictions, ReferenceSets(), scorer=None).set_index("encounter_id")
    assert list(cases.index) == ["e1", "e2", "e3"]
    assert cases.loc["e1", "pred_icd10"] == ["H25.11", "U07.1"]
    assert cases.loc["e1", "icd10_full_match"] and not cases.loc["e1", "modifier_full_match"]
    # e2: U07.1 is not a FY2020 code and E11 is not billable: 2 generated, 0 valid; e1: both valid in FY2021
    assert (cases.loc["e2", "icd10_generated"], cases.loc["e2", "icd10_valid"]) == (2, 0)
    assert (cases.loc["e1", "icd10_generated"], cases.loc["e1", "icd10_valid"]) == (2, 2)
    assert (cases.loc["e2", "cpt_generated"], cases.loc["e2", "cpt_valid"]) == (1, 1)
    # ... and which codes those were (the case browser marks them fabricated)
    assert list(cases.loc["e2", "icd10_fabricated_codes"]) == ["E11", "U07.1"]
    assert list(cases.loc["e1", "icd10_fabricated_codes"]) == [] == list(cases.loc["e2", "cpt_fabricated_codes"])
    # e3 has no prediction line ("not json" is skipped): no parseable claim, so every component scores 0, even the
    # modifiers of a claim that has none (empty vs empty counts only inside a parseable claim)
    assert cases.loc["e3", "missing_prediction"] and not cases.loc["e3", "parseable_claim"]
    assert cases.loc["e3", "cpt_recall"] == 0.0 and not cases.loc["e3", "modifier_full_match"]
    assert cases.loc["e3", "modifier_precision"] == 0.0 and cases.loc["e3", "modifier_recall"] == 0.0
    assert cases.loc["e1", "parseable_claim"]
    summary = summarize_codes(cases.reset_index()).set_index("component")
    assert summary.loc["cpt", "recall"] == pytest.approx(2 / 3)
    assert summary.loc["icd10", "precision"] == pytest.approx((1 + 0 + 0) / 3)
