"""The whole test split for the configurations without a language model: which files each case set reads, which
configurations run it, and its table (F1 interval, paired difference from the reference, style-shift drop)."""

import numpy as np
import pandas as pd
import pytest
from test_eval_style_shift import cases

from claimbench.audit.items import report_items
from claimbench.evaluation.whole_split import (
    drop_comparison_display,
    summarize_whole_split,
    whole_split_display,
    whole_split_table,
)
from claimbench.plan.style_shift import case_set_files, case_set_inputs, whole_split_configurations

IDS = [f"E{i:02d}" for i in range(40)]


def test_case_sets_swap_the_notes_neighbours_and_hints():
    whole = case_set_files("whole")
    assert whole["results/data/split/test.parquet"] == "results/data/split/test.parquet"  # every test note
    assert whole["results/retrieval/neighbours.parquet"] == "results/retrieval/neighbours_whole.parquet"
    # rule code_hints already answers every test note
    assert whole["results/retrieval/code_hints.parquet"] == "results/retrieval/code_hints.parquet"
    shifted = case_set_files("whole_shifted")
    assert shifted["results/data/split/test.parquet"] == "results/data/split/test_whole_shifted.parquet"
    assert shifted["results/retrieval/code_hints.parquet"] == "results/retrieval/code_hints_whole_shifted.parquet"
    inputs = {"test": "results/data/split/test.parquet", "train": "results/data/split/train.parquet"}
    assert case_set_inputs(inputs, "whole_shifted") == {"test": "results/data/split/test_whole_shifted.parquet",
                                                         "train": "results/data/split/train.parquet"}
    with pytest.raises(ValueError, match="unknown case set 'everything'"):
        case_set_files("everything")


def test_whole_split_configurations_follow_config_and_stay_off_when_every_case_is_predicted():
    names = ["base", "knn", "knn+lexicon", "grounded+evidence"]
    config = {"predict": {"n_test_cases": 24, "whole_split_configurations": ["grounded+evidence", "knn"]}}
    assert whole_split_configurations(config, names) == ["knn", "grounded+evidence"]  # in the run's order
    assert whole_split_configurations({"predict": {**config["predict"], "n_test_cases": None}}, names) == []
    assert whole_split_configurations({"predict": {"n_test_cases": 24}}, names) == []


def test_config_check_names_an_unknown_whole_split_configuration():
    from claimbench.config_check import ConfigError, check_configuration_references

    config = {"configurations": {"knn": {}}, "predict": {"whole_split_configurations": ["knn", "knn+typo"]}}
    with pytest.raises(ConfigError, match=r"predict.whole_split_configurations: 'knn\+typo'"):
        check_configuration_references(config)


@pytest.fixture
def frames():
    half = {eid: float(i % 2) for i, eid in enumerate(IDS)}  # right on every other case
    normal = {"knn": cases(IDS, half), "reader": cases(IDS, {eid: 1.0 for eid in IDS}),
              "twin": cases(IDS, half), "not-run": cases([], {})}
    shifted = {"knn": cases(IDS, half), "reader": cases(IDS, {eid: 0.75 for eid in IDS}),
               "twin": cases(IDS, half)}
    return normal, shifted


def test_table_compares_every_configuration_with_the_first_on_the_same_resamples(frames):
    table = whole_split_table(*frames, n_resamples=200, seed=1).set_index(["configuration", "component"])
    assert sorted({c for c, _ in table.index}) == ["knn", "reader", "twin"]  # "not-run" scored no case
    knn, reader, twin = table.loc[("knn", "icd10")], table.loc[("reader", "cpt")], table.loc[("twin", "modifier")]
    assert knn["f1"] == pytest.approx(0.5) and knn["f1_lower"] < 0.5 < knn["f1_upper"]
    assert np.isnan(knn["difference"]) and knn["verdict"] == ""  # the reference is not compared with itself
    assert reader["reference"] == "knn" and reader["difference"] == pytest.approx(0.5)
    assert reader["difference_lower"] > 0 and reader["verdict"] == "yes"  # right on every case vs half of them
    # the same answers: every resample's difference is 0, so the interval touches zero
    assert twin["difference"] == 0 and twin["difference_lower"] == twin["difference_upper"] == 0
    assert twin["verdict"] == "not separable"
    assert reader["f1_shifted"] == pytest.approx(0.75) and reader["drop"] == pytest.approx(0.25)
    # knn answers every note alike in both phrasings (and loses nothing); the reader changes every answer
    assert knn["unchanged"] == 1.0 and reader["unchanged"] == 0.0
    assert (table["n_cases"] == len(IDS)).all()


def test_drops_are_compared_with_the_references_on_the_same_resamples():
    right = {eid: 1.0 for eid in IDS}
    normal = {"lexicon": cases(IDS, right), "reader": cases(IDS, right), "copier": cases(IDS, right)}
    shifted = {"lexicon": cases(IDS, {eid: float(i % 2) for i, eid in enumerate(IDS)}),  # loses half the encounters
               "reader": cases(IDS, {eid: float(i % 10 != 0) for i, eid in enumerate(IDS)}),  # loses a tenth
               "copier": cases(IDS, {eid: float(i % 2) for i, eid in enumerate(IDS)})}  # the reference's losses
    table = whole_split_table(normal, shifted, n_resamples=300, seed=2).set_index(["configuration", "component"])
    reader, copier, lexicon = table.loc[("reader", "icd10")], table.loc[("copier", "cpt")], table.loc[("lexicon", "cpt")]
    assert reader["drop"] == pytest.approx(0.1) and reader["drop_lower"] < 0.1 < reader["drop_upper"]
    assert reader["drop_less"] == pytest.approx(0.4) and reader["drop_less_lower"] > 0
    assert reader["drop_verdict"] == "yes"  # drops less than the reference, the interval apart from zero
    assert copier["drop_less"] == 0 and copier["drop_less_lower"] == copier["drop_less_upper"] == 0
    assert copier["drop_verdict"] == "not separable"
    assert np.isnan(lexicon["drop_less"]) and lexicon["drop_verdict"] == ""
    display = drop_comparison_display(table.reset_index()).set_index("Configuration")
    assert display.index.tolist() == ["reader", "copier"]  # the reference has no row
    assert display.loc["reader", "ICD-10-CM: drops less"] == "yes"
    assert display.loc["reader", "ICD-10-CM: lexicon's drop − its drop"].startswith("+0.40 [+0.")


def test_display_and_report_items(frames, tmp_path):
    path = tmp_path / "whole_split.csv"
    summarize_whole_split({}, {}, 10, 1, path)
    assert pd.read_csv(path).empty  # no configuration ran: an empty table, not a crash
    normal, shifted = frames
    table = whole_split_table(normal, shifted, n_resamples=200, seed=1)
    display = whole_split_display(table)
    assert display["Configuration"].tolist() == ["knn", "reader", "twin"]
    reader = display.set_index("Configuration").loc["reader"]
    assert reader["CPT F1"].startswith("1.00 (1.00, 1.00)")
    assert reader["CPT vs knn"].startswith("+0.50 [+0.") and reader["CPT drop"] == "+0.25 (+0.25, +0.25)"
    assert display.set_index("Configuration").loc["knn", "CPT vs knn"] == "—"
    assert reader["CPT same answer"] == "0.00"
    assert display.set_index("Configuration").loc["knn", "CPT same answer"] == "1.00"
    table.to_csv(path, index=False)
    items = {item.id: item.value for item in report_items({"eval_whole_split": path})}
    assert items["whole_split/reader/cpt/verdict"] == "yes"
    assert float(items["whole_split/reader/icd10/drop"]) == pytest.approx(0.25)
    assert items["whole_split/reader/icd10/drop_verdict"] == "no"  # it loses 0.25, knn nothing
    assert float(items["whole_split/knn/icd10/unchanged"]) == 1.0
