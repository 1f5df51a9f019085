"""Paper 002's metrics and tables: every number below is computed by hand in the comments."""

import math

import pandas as pd
import pytest

from claimbench.paper002 import metrics, tables


def icd(code, line, text):
    return {"code": code, "rationale": "because", "evidence": {"line": line, "text": text}}


def cpt(code):
    return {"code": code, "rationale": "because"}


# Chart A: gold K80.20 @3, R54 @5, S72.001A @7; CPT 47562, 27236.
GOLD_A = {"icd10": [icd("K80.20", 3, "gallstones in the gallbladder"), icd("R54", 5, "frail"),
                    icd("S72.001A", 7, "fracture of right femoral neck")],
          "cpt": [cpt("47562"), cpt("27236")]}
# Prediction A: K80.20 right line (no dot, lowercase), K80.21 (wrong 5th character), R54 wrong line, S72.002A (wrong
# 6th character), K80.20 again at another line (a duplicate: its first entry is the one judged); CPT one right, one not.
PRED_A = {"icd10": [icd("k8020", 3, "gallstones in gallbladder"), icd("K80.21", 3, "stones"), icd("R54", 6, "frail"),
                    icd("S72.002A", 7, "left femoral neck"), icd("K80.20", 9, "again")],
          "cpt": [cpt("47562"), cpt("47563")]}
# Chart B: the prediction failed to parse.
GOLD_B = {"icd10": [icd("Z59.00", 1, "lives in a shelter"), icd("I50.9", 2, "chronic heart failure")],
          "cpt": [cpt("33208")]}
# Chart C: no gold ICD-10-CM code, and the model (rightly) wrote none.
GOLD_C = {"icd10": [], "cpt": [cpt("10060")]}
PRED_C = {"icd10": [], "cpt": [cpt("10060")]}
GOLDS, PREDS = [GOLD_A, GOLD_B, GOLD_C], [PRED_A, None, PRED_C]


def test_tokens_and_jaccard():
    assert metrics.tokens("Gallstones seen, K80.20.") == {"gallstones", "seen", "k80", "20"}
    # {gallstones, seen} vs {gallstones, were, seen}: 2 shared of 3 in the union
    assert metrics.jaccard("gallstones seen", "Gallstones were seen") == pytest.approx(2 / 3)
    assert metrics.jaccard("", "") == 1.0 and metrics.jaccard("", "frail") == 0.0
    assert metrics.jaccard(None, "frail") == 0.0  # malformed text scores as no overlap


def test_score_chart_levels_by_hand():
    row = metrics.score_charts([GOLD_A], [PRED_A]).iloc[0]
    # L0: gold {K80, R54, S72} = pred {K80, R54, S72} -> P 1, R 1, full match
    assert (row.icd10_l0_precision, row.icd10_l0_recall, row.icd10_l0_full_match) == (1.0, 1.0, True)
    # L1: gold {K802, R54, S720}; pred {K802 (K80.20 and K80.21), R54, S720} -> 1, 1
    assert (row.icd10_l1_precision, row.icd10_l1_recall) == (1.0, 1.0)
    # L2: gold {K8020, R54, S7200}; pred {K8020, K8021, R54, S7200} -> tp 3: P 3/4, R 3/3
    assert (row.icd10_l2_tp, row.icd10_l2_n_pred, row.icd10_l2_n_gold) == (3, 4, 3)
    assert (row.icd10_l2_precision, row.icd10_l2_recall) == (0.75, 1.0)
    # L3: gold {K8020, R54, S72001A}; pred {K8020, K8021, R54, S72002A} -> tp 2: P 2/4, R 2/3
    assert (row.icd10_l3_precision, row.icd10_l3_recall) == (0.5, pytest.approx(2 / 3))
    # L4: K8020's first entry is at line 3 = gold 3 (match); R54 at 6, gold 5 (miss) -> tp 1: P 1/4, R 1/3
    assert (row.icd10_l4_tp, row.icd10_l4_n_pred, row.icd10_l4_n_gold) == (1, 4, 3)
    assert (row.icd10_l4_precision, row.icd10_l4_recall) == (0.25, pytest.approx(1 / 3))
    # CPT: gold {47562, 27236}, pred {47562, 47563} -> 1/2, 1/2
    assert (row.cpt_precision, row.cpt_recall, row.cpt_full_match) == (0.5, 0.5, False)
    # Evidence over the L3 matches: K8020 {gallstones, in, gallbladder} vs {gallstones, in, the, gallbladder} = 3/4;
    # R54 "frail" vs "frail" = 1 -> sum 1.75 over 2 codes
    assert (row.evidence_matched, row.evidence_jaccard_sum) == (2, 1.75)


def test_level4_jaccard_threshold_and_gold_with_two_evidence_lines():
    # K8020's span Jaccard is 0.75: kept with threshold 0.7, lost at 0.8 (R54 misses on its line either way)
    assert metrics.score_charts([GOLD_A], [PRED_A], jaccard_threshold=0.7).icd10_l4_tp[0] == 1
    assert metrics.score_charts([GOLD_A], [PRED_A], jaccard_threshold=0.8).icd10_l4_tp[0] == 0
    with pytest.raises(ValueError, match="jaccard_threshold"):
        metrics.score_charts([GOLD_A], [PRED_A], jaccard_threshold=75)
    gold = {"icd10": [icd("K80.20", 3, "stones"), icd("K80.20", 8, "stones again")], "cpt": []}
    at_8 = {"icd10": [icd("K80.20", 8, "stones again")], "cpt": []}
    first_wrong = {"icd10": [icd("K80.20", 9, "x"), icd("K80.20", 3, "stones")], "cpt": []}
    rows = metrics.score_charts([gold, gold], [at_8, first_wrong])
    # gold is one code (a set) with lines {3, 8}: line 8 matches; a first entry at line 9 does not (the later entry
    # at line 3 is a duplicate and not judged)
    assert list(rows.icd10_l4_tp) == [1, 0] and list(rows.icd10_l3_n_gold) == [1, 1]
    assert list(rows.icd10_l4_recall) == [1.0, 0.0]
    # the evidence Jaccard takes the best gold span: "stones again" vs "stones again" = 1; "x" vs either = 0
    assert list(rows.evidence_jaccard_sum) == [1.0, 0.0]


def test_none_empty_prediction_and_empty_gold():
    rows = metrics.score_charts(GOLDS, PREDS)
    b, c = rows.iloc[1], rows.iloc[2]
    # None: every gold code missed at every level, nothing predicted
    assert (b.answered, b.icd10_l0_precision, b.icd10_l0_recall, b.icd10_l0_n_gold, b.icd10_l0_n_pred) == (
        False, 0.0, 0.0, 2, 0)
    assert (b.cpt_precision, b.cpt_recall, b.evidence_matched) == (0.0, 0.0, 0)
    # empty gold and an empty (parsed) prediction: paper 000's rule, 1/1 and a full match
    assert (c.icd10_l3_precision, c.icd10_l3_recall, c.icd10_l3_full_match) == (1.0, 1.0, True)
    assert (c.icd10_l4_precision, c.icd10_l4_recall) == (1.0, 1.0)
    # an empty prediction against non-empty gold: 0/0; a prediction against empty gold: 0/0
    empty = metrics.score_charts([GOLD_A, GOLD_C], [{"icd10": [], "cpt": []}, PRED_A])
    assert list(empty.icd10_l3_precision) == [0.0, 0.0] and list(empty.icd10_l3_recall) == [0.0, 0.0]


def test_codes_with_and_without_dots_3_and_7_characters():
    gold = {"icd10": [icd("T07XXXA", 1, "multiple injuries"), icd("R54", 2, "frail")], "cpt": []}
    pred = {"icd10": [icd("t07.xxxd", 1, "multiple injuries"), icd(" r54 ", 2, "frail")], "cpt": []}
    row = metrics.score_charts([gold], [pred]).iloc[0]
    # T07XXXD vs T07XXXA: the same T07 at Levels 0-2 (placeholder X), different at Level 3; R54 equal everywhere
    assert [row[f"icd10_l{n}_tp"] for n in range(5)] == [2, 2, 2, 1, 1]


def test_malformed_prediction_never_raises_and_scores_wrong():
    gold = {"icd10": [icd("K80.20", 3, "stones"), icd("R54", 5, "frail")], "cpt": [cpt("47562")]}
    pred = {"icd10": [42, {"code": None}, {"code": "K80.20", "evidence": "line 3"},
                      {"code": "R54", "evidence": {"line": "5", "text": 7}}], "cpt": "47562"}
    row = metrics.score_charts([gold], [pred]).iloc[0]
    # K80.20 and R54 are read (L3 tp 2) but neither has a usable line (L4 tp 0) nor text (Jaccard 0); CPT is no list
    assert (row.icd10_l3_tp, row.icd10_l3_n_pred, row.icd10_l4_tp, row.evidence_jaccard_sum) == (2, 2, 0, 0.0)
    assert (row.cpt_n_pred, row.cpt_recall) == (0, 0.0)
    garbage = metrics.score_charts([gold], ["not a claim"]).iloc[0]
    assert (garbage.answered, garbage.icd10_l0_recall) == (False, 0.0)


def test_bad_gold_names_chart_entry_and_field():
    bad_line = {"icd10": [icd("K80.20", 3, "x"), icd("R54", "five", "frail")], "cpt": []}
    with pytest.raises(ValueError, match=r"gold chart enc-7: icd10\[1\]\.evidence\.line"):
        metrics.score_charts([bad_line], [None], chart_ids=["enc-7"])
    with pytest.raises(ValueError, match=r"gold chart 0: icd10\[0\]\.evidence\.text"):
        metrics.score_charts([{"icd10": [icd("R54", 1, " ")], "cpt": []}], [None])
    with pytest.raises(ValueError, match=r"gold chart 0: cpt\[0\]\.code"):
        metrics.score_charts([{"icd10": [], "cpt": [{"code": ""}]}], [None])
    with pytest.raises(ValueError, match=r"gold chart 0: field 'cpt'"):
        metrics.score_charts([{"icd10": []}], [None])
    with pytest.raises(ValueError, match="2 gold claims but 1 predictions"):
        metrics.score_charts([GOLD_A, GOLD_C], [None])


def test_aggregates_macro_and_micro_by_hand():
    table = tables.levels_table(metrics.score_charts(GOLDS, PREDS)).set_index("component")
    assert list(table.index) == ["icd10_l0", "icd10_l1", "icd10_l2", "icd10_l3", "icd10_l4", "cpt"]
    assert set(table.n_charts) == {3}
    l0, l3, l4, cpt_row = table.loc["icd10_l0"], table.loc["icd10_l3"], table.loc["icd10_l4"], table.loc["cpt"]
    # L3 per chart: A (1/2, 2/3), B (0, 0), C (1, 1) -> P = 1.5/3 = 1/2, R = (5/3)/3 = 5/9,
    # F1 from the means = 2 (1/2)(5/9) / (1/2 + 5/9) = (5/9) / (19/18) = 10/19
    assert (l3.precision, l3.recall, l3.f1) == pytest.approx((1 / 2, 5 / 9, 10 / 19))
    # micro L3: tp 2 + 0 + 0, predicted 4 + 0 + 0, gold 3 + 2 + 0 -> P 2/4, R 2/5, F1 2*2/(4+5) = 4/9
    assert (l3.micro_precision, l3.micro_recall, l3.micro_f1) == pytest.approx((1 / 2, 2 / 5, 4 / 9))
    # standard errors: precision 1/2, 0, 1 has sample SD sqrt((0 + 1/4 + 1/4)/2) = 1/2 -> SE (1/2)/sqrt(3);
    # recall 2/3, 0, 1 deviates 1/9, -5/9, 4/9 from 5/9 -> SD^2 (1 + 25 + 16)/81/2 = 21/81 -> SE sqrt(21)/9/sqrt(3)
    assert (l3.precision_se, l3.recall_se) == pytest.approx((0.5 / math.sqrt(3), math.sqrt(7) / 9))
    # L0: A (1, 1), B (0, 0), C (1, 1) -> 2/3, 2/3, F1 2/3; full match A and C: 2/3
    # micro: tp 3, predicted 3, gold 3 + 2 -> P 1, R 3/5, F1 6/8
    assert (l0.precision, l0.recall, l0.f1, l0.full_match) == pytest.approx((2 / 3, 2 / 3, 2 / 3, 2 / 3))
    assert (l0.micro_precision, l0.micro_recall, l0.micro_f1) == pytest.approx((1, 3 / 5, 3 / 4))
    # L4: A (1/4, 1/3), B (0, 0), C (1, 1) -> P 5/12, R 4/9; F1 = 2 (5/12)(4/9) / (5/12 + 4/9) = (10/27)/(31/36)
    # = 40/93; micro tp 1 of 4 predicted, 5 gold -> 1/4, 1/5, 2/9
    assert (l4.precision, l4.recall, l4.f1) == pytest.approx((5 / 12, 4 / 9, 40 / 93))
    assert (l4.micro_precision, l4.micro_recall, l4.micro_f1) == pytest.approx((1 / 4, 1 / 5, 2 / 9))
    # CPT: A (1/2, 1/2), B (0, 0), C (1, 1) -> 1/2, 1/2, 1/2; micro tp 2, predicted 3, gold 4 -> 2/3, 1/2, 4/7
    assert (cpt_row.precision, cpt_row.recall, cpt_row.f1) == pytest.approx((1 / 2, 1 / 2, 1 / 2))
    assert (cpt_row.micro_precision, cpt_row.micro_recall, cpt_row.micro_f1) == pytest.approx((2 / 3, 1 / 2, 4 / 7))


def test_mean_evidence_jaccard():
    # chart A's two matches (0.75 and 1) are the only ones: mean 1.75 / 2
    assert metrics.mean_evidence_jaccard(metrics.score_charts(GOLDS, PREDS)) == (0.875, 2)
    nothing = metrics.mean_evidence_jaccard(metrics.score_charts([GOLD_B], [None]))
    assert math.isnan(nothing[0]) and nothing[1] == 0


def test_micro_with_nothing_predicted_or_gold():
    rows = metrics.score_charts([GOLD_C], [PRED_C])  # no ICD-10-CM code on either side
    assert all(math.isnan(value) for value in metrics.micro(rows, "icd10_l3").values())


def test_per_code_scores_by_hand():
    gold = [frozenset("AB"), frozenset("A"), frozenset("B")]
    pred = [frozenset("AC"), frozenset(), frozenset("BC")]
    frame = metrics.per_code_scores(gold, pred).set_index("code")
    # A: tp 1 (chart 1), fn 1 (chart 2), fp 0 -> support 2, P 1, R 1/2, F1 2/(2+0+1) = 2/3
    assert tuple(frame.loc["A", ["tp", "fp", "fn", "support"]]) == (1, 0, 1, 2)
    assert tuple(frame.loc["A", ["precision", "recall", "f1"]]) == pytest.approx((1, 1 / 2, 2 / 3))
    # B: tp 1 (chart 3), fn 1 (chart 1) -> the same as A
    assert tuple(frame.loc["B", ["precision", "recall", "f1"]]) == pytest.approx((1, 1 / 2, 2 / 3))
    # C: predicted twice, never gold -> support 0, every ratio 0
    assert tuple(frame.loc["C", ["tp", "fp", "fn", "support", "precision", "recall", "f1"]]) == (0, 2, 0, 0, 0, 0, 0)
    with pytest.raises(ValueError):
        metrics.per_code_scores(gold, pred[:2])


def test_per_code_icd10_levels():
    frame = metrics.per_code_icd10(GOLDS, PREDS, level_number=0).set_index("code")
    # K80: gold and predicted in A -> tp 1; Z59 and I50: gold in B, None predicted -> fn 1 each
    assert tuple(frame.loc["K80", ["tp", "fp", "fn"]]) == (1, 0, 0)
    assert tuple(frame.loc["Z59", ["tp", "fp", "fn", "support"]]) == (0, 0, 1, 1)
    exact = metrics.per_code_icd10(GOLDS, PREDS).set_index("code")
    # K80.21 and S72.002A are false positives at Level 3; S72.001A a false negative
    assert tuple(exact.loc["K8021", ["tp", "fp", "fn"]]) == (0, 1, 0)
    assert tuple(exact.loc["S72001A", ["tp", "fp", "fn"]]) == (0, 0, 1)


def test_code_frequency_counts_charts():
    claims = [{"icd10": [icd("K80.20", 1, "a"), icd("K80.21", 2, "b"), icd("K8020", 3, "c")], "cpt": []},
              {"icd10": [icd("K80.20", 1, "a")], "cpt": []}, None]
    # Level 3: K8020 in charts 1 and 2 (the repeat inside chart 1 counts once), K8021 in chart 1
    assert metrics.code_frequency(claims) == {"K8020": 2, "K8021": 1}
    # Level 0: K80 in charts 1 and 2
    assert metrics.code_frequency(claims, 0) == {"K80": 2}


def test_validity_counts_by_hand():
    fabricated_pred = {"icd10": [icd("K99.99", 1, "x")], "cpt": [cpt("99999")]}
    preds = [PRED_A, None, {"icd10": [], "cpt": []}, fabricated_pred]
    real_icd = {"K80.20", "K80.21", "R54", "S72.002A"}
    real_cpt = {"47562", "47563"}
    counts = metrics.validity_counts(preds, icd10_valid=real_icd.__contains__, cpt_valid=real_cpt.__contains__)
    # ICD-10-CM distinct codes: A 4 (K8020 twice is one), D 1 -> 5; fabricated: K99.99 -> 1
    # CPT: A 2, D 1 -> 3; fabricated: 99999 -> 1
    # no valid prediction: B (None), C (empty), D (all fabricated) -> 3; invalid outputs: B -> 1
    assert counts == {"charts": 4, "invalid_outputs": 1, "no_valid_predictions": 3, "icd10_codes": 5,
                      "cpt_codes": 3, "icd10_fabricated": 1, "cpt_fabricated": 1}
    # without validity functions every code is valid: D has codes -> only B and C have none
    plain = metrics.validity_counts(preds)
    assert plain["no_valid_predictions"] == 2 and "icd10_fabricated" not in plain


def test_weighted_mean_sd_by_hand():
    # values 1, 0.5, 0 with weights 2, 1, 1: mean (2 + 0.5 + 0)/4 = 0.625;
    # SD^2 = (2 * 0.375^2 + 0.125^2 + 0.625^2) / 4 = 0.6875 / 4 = 0.171875
    mean, sd = tables.weighted_mean_sd(pd.Series([1.0, 0.5, 0.0]), pd.Series([2, 1, 1]))
    assert (mean, sd) == pytest.approx((0.625, math.sqrt(0.171875)))
    assert all(math.isnan(v) for v in tables.weighted_mean_sd(pd.Series([0.5]), pd.Series([0])))


def _per_code(rows):
    return pd.DataFrame(rows, columns=["code", "tp", "fp", "fn", "support", "precision", "recall", "f1"])


def test_domain_table_by_hand():
    per_code = _per_code([
        ("R54", 1, 0, 1, 2, 1.0, 0.5, 2 / 3),  # Frailty, weight 2
        ("Z9181", 1, 1, 0, 1, 0.5, 1.0, 2 / 3),  # Frailty, weight 1
        ("Z5900", 2, 1, 1, 3, 0.6, 0.6, 0.6),  # SDoH, weight 3 (numbers need not be consistent with tp here)
        ("I509", 1, 0, 0, 1, 1.0, 1.0, 1.0),  # Advanced Illness, weight 1
        ("K8020", 5, 0, 0, 5, 1.0, 1.0, 1.0),  # no domain
        ("Z590", 0, 4, 0, 0, 0.0, 0.0, 0.0),  # SDoH but never gold: weight 0, not counted
    ])
    table = tables.domain_table(per_code).set_index("domain")
    assert list(table.index) == ["Advanced Illness", "Frailty", "SDoH", "Combined", "Combined w/o SDoH"]
    # Frailty: P (2*1 + 1*0.5)/3 = 5/6, SD sqrt((2 (1/6)^2 + (1/3)^2)/3) = sqrt(1/18); R (2*0.5 + 1)/3 = 2/3,
    # SD sqrt(1/18) likewise; F1 2/3 for both codes, SD 0
    frailty = table.loc["Frailty"]
    assert (frailty.n_codes, frailty.n_cases) == (2, 3)
    assert tuple(frailty[["precision", "precision_sd", "recall", "recall_sd", "f1", "f1_sd"]]) == pytest.approx(
        (5 / 6, math.sqrt(1 / 18), 2 / 3, math.sqrt(1 / 18), 2 / 3, 0))
    assert (table.loc["SDoH", "n_codes"], table.loc["SDoH", "n_cases"], table.loc["SDoH", "f1"]) == (1, 3, 0.6)
    # Combined: F1 values 2/3 (weight 3 in all), 3/5 (3), 1 (1); mean (2 + 9/5 + 1)/7 = 24/35;
    # deviations -2/105, -9/105, 33/105 -> SD^2 = (3*4 + 3*81 + 1089) / (105^2 * 7) = 1344/77175
    combined = table.loc["Combined"]
    assert (combined.n_codes, combined.n_cases) == (4, 7)
    assert (combined.f1, combined.f1_sd) == pytest.approx((24 / 35, math.sqrt(1344 / 77175)))
    # P: (2*1 + 0.5 + 3*0.6 + 1)/7 = 5.3/7
    assert combined.precision == pytest.approx(5.3 / 7)
    # without SDoH: F1 (3 * 2/3 + 1)/4 = 3/4
    assert table.loc["Combined w/o SDoH", "f1"] == pytest.approx(3 / 4)
    assert table.loc["Combined w/o SDoH", "n_cases"] == 4
    assert table.loc["Advanced Illness", "n_cases"] == 1


def test_lowest_categories_iqr_by_hand():
    per_category = _per_code([
        ("K80", 2, 0, 8, 10, 1.0, 0.2, 0.2),
        ("R54", 9, 0, 3, 12, 1.0, 0.75, 0.9),
        ("Z59", 8, 0, 2, 10, 1.0, 0.8, 0.85),
        ("I50", 19, 0, 1, 20, 1.0, 0.95, 0.95),
        ("S72", 12, 0, 3, 15, 1.0, 0.8, 0.8),
        ("E11", 0, 0, 9, 9, 0.0, 0.0, 0.0),  # 9 cases < 10: left out
    ])
    table = tables.lowest_categories(per_category, min_cases=10)
    # sorted F1: 0.2, 0.8, 0.85, 0.9, 0.95; Q1 at position 0.25*4 = 1 -> 0.8, Q3 at position 3 -> 0.9;
    # fence 0.8 - 1.5*0.1 = 0.65: only K80 (0.2) lies below
    assert list(table.code) == ["K80", "S72", "Z59", "R54", "I50"]
    assert list(table.outlier) == [True, False, False, False, False]
    assert table.lower_fence.iloc[0] == pytest.approx(0.65)
    assert (table.title.iloc[0], table.chapter.iloc[0]) == ("Cholelithiasis", 11)
    assert tables.lowest_categories(per_category, min_cases=100).empty


def test_chapter_table_by_hand():
    per_code = _per_code([
        ("K8020", 1, 1, 1, 2, 0.5, 0.5, 0.5),
        ("K8021", 1, 0, 0, 1, 1.0, 1.0, 1.0),
        ("K8520", 0, 2, 0, 0, 0.0, 0.0, 0.0),  # only ever predicted
        ("R54", 0, 0, 1, 1, 0.0, 0.0, 0.0),
        ("K991", 0, 1, 0, 0, 0.0, 0.0, 0.0),  # a fabricated category: no chapter
    ])
    table = tables.chapter_table(per_code)
    assert table.chapter.tolist()[:2] == [11, 18] and table.chapter.isna().tolist() == [False, False, True]
    digestive, symptoms, none = table.iloc[0], table.iloc[1], table.iloc[2]
    # chapter 11: mean F1 of the supported codes (0.5 + 1)/2 = 0.75; micro over all three: tp 2, fp 1 + 2, fn 1 ->
    # 4 / (4 + 3 + 1) = 0.5; n_codes 2, n_cases 2 + 1
    assert (digestive.n_codes, digestive.n_cases, digestive.f1, digestive.micro_f1) == (2, 3, 0.75, 0.5)
    assert (symptoms.f1, symptoms.micro_f1) == (0.0, 0.0)
    assert none.title == "no ICD-10-CM chapter" and none.n_codes == 0 and math.isnan(none.f1)
    assert none.micro_f1 == 0.0


def test_spearman_by_hand():
    # no ties: d = 0, 1, -1, 0 -> 1 - 6*2 / (4 * 15) = 0.8
    assert tables.spearman(pd.Series([1, 2, 3, 4]), pd.Series([1, 3, 2, 4])) == pytest.approx(0.8)
    # ties share their mean rank: x ranks 1.5, 1.5, 3 (centred -0.5, -0.5, 1), y ranks 1, 2, 3 (-1, 0, 1):
    # r = 1.5 / sqrt(1.5 * 2) = 0.8660
    assert tables.spearman(pd.Series([1, 1, 2]), pd.Series([1, 2, 3])) == pytest.approx(1.5 / math.sqrt(3))
    assert math.isnan(tables.spearman(pd.Series([1, 2]), pd.Series([5, 5])))
    assert math.isnan(tables.spearman(pd.Series([1]), pd.Series([5])))


def test_frequency_vs_f1_by_hand():
    per_category = _per_code([
        ("K80", 5, 5, 5, 10, 0.5, 0.5, 0.5),
        ("R54", 11, 1, 1, 12, 0.9, 0.9, 0.9),
        ("Z59", 7, 3, 3, 10, 0.7, 0.7, 0.7),
        ("E11", 1, 0, 2, 3, 1.0, 1 / 3, 0.5),  # 3 cases: left out
        ("Q99", 5, 5, 5, 10, 0.5, 0.5, 0.5),  # never in training
    ])
    frame, rho = tables.frequency_vs_f1(per_category, {"K80": 100, "R54": 300, "Z59": 5, "E11": 1000}, min_cases=10)
    assert list(frame.code) == ["Q99", "Z59", "K80", "R54"] and list(frame.train_count) == [0, 5, 100, 300]
    # train ranks 1, 2, 3, 4; F1 0.5, 0.7, 0.5, 0.9 ranks 1.5, 3, 1.5, 4 -> centred (-1.5, -0.5, 0.5, 1.5) and
    # (-1, 0.5, -1, 1.5): sum of products 1.5 - 0.25 - 0.5 + 2.25 = 3; norms 5 and 4.5 -> 3 / sqrt(22.5)
    assert rho == pytest.approx(3 / math.sqrt(22.5))
