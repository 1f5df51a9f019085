"""Breakdowns of F1 by training frequency, note length and codes per case: hand-computed small cases."""

from __future__ import annotations

import math
from collections import Counter

import pandas as pd
import pytest

from claimbench.evaluation.breakdowns import (
    case_breakdowns,
    count_groups,
    frequency_bin,
    frequency_bins,
    length_groups,
    per_code_scores,
    training_counts,
)
from claimbench.evaluation.metrics import score_case


@pytest.mark.parametrize(("count", "label"), [(0, "unseen"), (1, "1-2"), (2, "1-2"), (3, "3-9"), (9, "3-9"),
                                              (10, "10+"), (500, "10+")])
def test_frequency_bin(count, label):
    assert frequency_bin(count)[1] == label


def test_frequency_bins_micro_average_per_bin():
    # two cases; A seen 12 times in training, B twice, C and the invented X never
    gold = [frozenset({"A", "B"}), frozenset({"A", "C"})]
    pred = [frozenset({"A", "X"}), frozenset({"B"})]
    per_code = per_code_scores(gold, pred)
    bins = frequency_bins(per_code, {"A": 12, "B": 2}).set_index("group")
    # 10+: A right in case 1, missed in case 2 -> tp 1, fn 1: recall 0.5, precision 1, F1 2/3
    assert bins.loc["10+", ["tp", "fp", "fn"]].tolist() == [1, 0, 1]
    assert bins.loc["10+", "f1"] == pytest.approx(2 / 3)
    # 1-2: B missed in case 1, wrongly written in case 2 -> tp 0, fp 1, fn 1
    assert bins.loc["1-2", ["tp", "fp", "fn"]].tolist() == [0, 1, 1] and bins.loc["1-2", "f1"] == 0
    # unseen: C missed, X invented -> its own bin's precision
    assert bins.loc["unseen", ["tp", "fp", "fn", "n", "n_codes"]].tolist() == [0, 1, 1, 1, 1]
    assert math.isnan(bins.loc["3-9", "f1"]) and bins.loc["3-9", "n"] == 0


def test_training_counts_count_claims_not_lines():
    claims = [{"cpt": {"66984", "66982"}}, {"cpt": {"66984"}}]
    assert training_counts(claims, "cpt") == Counter({"66984": 2, "66982": 1})


def test_length_and_count_groups():
    groups, labels = length_groups(pd.Series([10, 20, 30, 40, 50, 60, 70, 80]))
    assert labels == ["Q1 (10-20)", "Q2 (30-40)", "Q3 (50-60)", "Q4 (70-80)"]
    assert groups.tolist()[:3] == ["Q1 (10-20)", "Q1 (10-20)", "Q2 (30-40)"]
    groups, labels = count_groups(pd.Series([1, 1, 2, 7]))
    assert labels == ["1", "2", "4+"] and groups.tolist() == ["1", "1", "2", "4+"]


def _case(encounter, gold_icd, pred_icd):
    sets = {"icd10": frozenset(pred_icd), "cpt": frozenset({"66984"}), "modifier": frozenset(),
            "modifier_set": frozenset()}
    gold = {"icd10": frozenset(gold_icd), "cpt": frozenset({"66984"}), "modifier": frozenset(),
            "modifier_set": frozenset()}
    row = {"encounter_id": encounter, **score_case(sets, gold)}
    for component in ("icd10", "cpt", "modifier", "modifier_set"):
        row[f"pred_{component}"], row[f"gold_{component}"] = sorted(sets[component]), sorted(gold[component])
    return row


def test_case_breakdowns_score_each_group_as_a_test_set():
    cases = pd.DataFrame([_case("a", ["H25.11"], ["H25.11"]), _case("b", ["H25.12", "H40.11"], []),
                          _case("c", ["H25.11"], ["H25.11"]), _case("d", ["K80.20"], ["K80.20"])])
    words = {"a": 100, "b": 400, "c": 120, "d": 300}
    counts = {"icd10": Counter({"H25.11": 5}), "cpt": Counter({"66984": 20})}
    table = case_breakdowns(cases, words, counts).set_index(["view", "component", "group"])
    # case b (the longest note, two gold codes) is the only one wrong
    assert table.loc[("note_length", "icd10", "Q4 (400-400)"), "f1"] == 0
    assert table.loc[("note_length", "icd10", "Q1 (100-100)"), "f1"] == 1
    assert table.loc[("codes_per_case", "icd10", "2"), ["n", "f1"]].tolist() == [1, 0]
    assert table.loc[("codes_per_case", "icd10", "1"), ["n", "f1"]].tolist() == [3, 1]
    assert table.loc[("training_frequency", "icd10", "3-9"), "f1"] == 1  # H25.11, seen 5 times, always right
    assert table.loc[("training_frequency", "icd10", "unseen"), "recall"] == pytest.approx(1 / 3)  # K80.20 of 3
    assert table.loc[("training_frequency", "cpt", "10+"), "f1"] == 1
    with pytest.raises(ValueError, match="no note for test case 'd'"):
        case_breakdowns(cases, {k: v for k, v in words.items() if k != "d"}, counts)
