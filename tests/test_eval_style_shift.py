"""The style-shift table and figure: F1 on normal and shifted notes over the same encounters, the drop, the report's
display and item ids."""

import json

import pandas as pd
import pytest

from claimbench.audit.items import report_items
from claimbench.evaluation.metrics import COMPONENTS
from claimbench.evaluation.style_shift import (
    style_shift_display,
    style_shift_figure,
    style_shift_table,
    summarize_style_shift,
    unchanged_share,
)


def cases(ids, score):
    """Scored cases as rule evaluate_cases writes them: every component with precision = recall = ``score[eid]``, the
    answer the gold "x" where that is 1 and a guess named by the score elsewhere (so equal scores, equal answers)."""
    rows = []
    for eid in ids:
        row = {"encounter_id": eid}
        for component in (*COMPONENTS, "modifier_set"):
            row.update({f"{component}_precision": score[eid], f"{component}_recall": score[eid],
                        f"{component}_full_match": score[eid] == 1.0, f"gold_{component}": ["x"],
                        f"pred_{component}": ["x"] if score[eid] == 1.0 else [f"guess-{score[eid]}"]})
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture
def frames():
    normal = {"knn": cases(["E1", "E2", "E3", "E4"], {"E1": 1.0, "E2": 0.5, "E3": 0.0, "E4": 0.0}),
              "reader": cases(["E1", "E2", "E3", "E4"], {"E1": 1.0, "E2": 1.0, "E3": 1.0, "E4": 1.0})}
    shifted = {"knn": cases(["E1", "E2"], {"E1": 0.5, "E2": 0.0}),
               "reader": cases(["E1", "E2"], {"E1": 1.0, "E2": 1.0})}
    return normal, shifted


def test_normal_f1_is_over_the_shifted_cases_only_and_drop_is_the_difference(frames):
    normal, shifted = frames
    table = style_shift_table(normal, shifted, ["knn", "reader", "not-run"])
    f1 = table.set_index(["configuration", "component", "notes"])["f1"]
    assert f1["knn", "icd10", "normal"] == pytest.approx(0.75)  # E1, E2 only (E3, E4 were not shifted)
    assert f1["knn", "icd10", "shifted"] == pytest.approx(0.25)
    assert f1["knn", "icd10", "drop"] == pytest.approx(0.5)
    assert f1["reader", "cpt", "drop"] == pytest.approx(0.0)
    assert set(table["configuration"]) == {"knn", "reader"}  # a configuration that did not run has no rows
    assert (table["n_cases"] == 2).all()


def test_drop_interval_resamples_both_phrasings_with_the_same_encounters(frames):
    normal, shifted = frames
    table = style_shift_table(normal, shifted, ["knn", "reader"], n_resamples=200, seed=3)
    rows = table.set_index(["configuration", "component", "notes"])
    # knn loses 0.5 on each encounter: a resample that draws the same encounters for both phrasings loses 0.5 too
    assert rows.loc[("knn", "icd10", "drop"), ["f1_lower", "f1_upper"]].tolist() == pytest.approx([0.5, 0.5])
    assert rows.loc[("reader", "cpt", "drop"), ["f1_lower", "f1_upper"]].tolist() == pytest.approx([0.0, 0.0])
    normal_interval = rows.loc[("knn", "icd10", "normal"), ["f1_lower", "f1_upper"]].tolist()
    assert normal_interval[0] < 0.75 < normal_interval[1]  # an F1 alone still varies with the encounters drawn
    assert style_shift_table(normal, shifted, ["knn"])["f1_lower"].isna().all()  # no resamples: no interval


def test_drop_interval_spans_the_drop_where_encounters_lose_unequally():
    ids = [f"E{i:02d}" for i in range(30)]
    normal = {"lex": cases(ids, {eid: 1.0 for eid in ids})}
    shifted = {"lex": cases(ids, {eid: float(i % 3 == 0) for i, eid in enumerate(ids)})}  # a third survive
    drop = style_shift_table(normal, shifted, ["lex"], n_resamples=500, seed=0).set_index(["component", "notes"])
    lower, value, upper = drop.loc[("cpt", "drop"), ["f1_lower", "f1", "f1_upper"]]
    assert value == pytest.approx(2 / 3) and lower < value < upper
    assert style_shift_display(style_shift_table(normal, shifted, ["lex"], 500, 0)).iloc[0]["CPT drop"] == (
        f"+0.67 ({lower:+.2f}, {upper:+.2f})")


def test_unchanged_share_compares_each_encounters_codes_as_sets():
    import numpy as np

    normal = pd.DataFrame({"encounter_id": ["E1", "E2", "E3", "E4"],
                           "pred_icd10": [["A", "B"], ["C"], [], ["D"]]})
    # another order, codes as the numpy arrays read back from parquet, E4 not shifted
    shifted = pd.DataFrame({"encounter_id": ["E3", "E1", "E2"],
                            "pred_icd10": [np.array([], dtype=str), np.array(["B", "A"]), np.array(["C", "X"])]})
    assert unchanged_share({"normal": normal, "shifted": shifted}, "icd10") == pytest.approx(2 / 3)  # E1, E3
    empty = shifted.iloc[:0]
    assert np.isnan(unchanged_share({"normal": normal, "shifted": empty}, "icd10"))


def test_display_has_one_row_per_configuration_with_signed_drops(frames):
    display = style_shift_display(style_shift_table(*frames, ["knn", "reader"]))
    assert display["Configuration"].tolist() == ["knn", "reader"]
    row = display.iloc[0]
    assert row["ICD-10-CM normal"] == "0.75" and row["ICD-10-CM shifted"] == "0.25"
    assert row["ICD-10-CM drop"] == "+0.50"
    assert style_shift_display(style_shift_table({}, {}, [])).columns.tolist() == ["Configuration"]


def test_rule_step_writes_table_figure_and_items(tmp_path, frames):
    normal, shifted = frames
    paths = {}
    for name in ("knn", "reader", "api"):
        paths[name] = {"normal": tmp_path / f"{name}.normal.parquet", "shifted": tmp_path / f"{name}.shifted.parquet",
                       "meta": tmp_path / f"{name}.meta.json"}
        if name in normal:
            normal[name].to_parquet(paths[name]["normal"])
            shifted[name].to_parquet(paths[name]["shifted"])
        paths[name]["meta"].write_text(json.dumps({"configuration": name, "run": name != "api"}))
    table = summarize_style_shift({n: str(p["normal"]) for n, p in paths.items()},
                                  {n: str(p["shifted"]) for n, p in paths.items()},
                                  {n: str(p["meta"]) for n, p in paths.items()},
                                  tmp_path / "style_shift.csv", tmp_path / "style_shift.png", n_resamples=50, seed=1)
    assert set(table["configuration"]) == {"knn", "reader"}
    assert (tmp_path / "style_shift.png").read_bytes()[:4] == b"\x89PNG"
    items = {item.id: item for item in report_items({"eval_style_shift": str(tmp_path / "style_shift.csv"),
                                                     "eval_style_shift_figure": str(tmp_path / "style_shift.png")})}
    assert float(items["style_shift/knn/icd10/drop/f1"].value) == pytest.approx(0.5)
    assert items["style_shift/knn/icd10/drop/f1"].focus == "knn"
    assert float(items["style_shift/knn/icd10/drop/f1_lower"].value) == pytest.approx(0.5)
    assert items["style_shift/reader/cpt/shifted/n_cases"].value == "2"
    assert items["figure-style-shift"].data == [str(tmp_path / "style_shift.csv")]


def test_figure_without_configurations_still_draws(tmp_path):
    path = style_shift_figure(style_shift_table({}, {}, []), tmp_path / "empty.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
