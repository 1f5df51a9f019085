"""Error taxonomy: each category on hand-picked codes of the shipped code sets and the demo CPT catalog, modifier
events, and shares with case-resampled intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from claimbench import codesets
from claimbench.evaluation.taxonomy import (
    ClaimLookups,
    CptLookup,
    IcdLookup,
    classify_cases,
    cpt_family,
    cpt_relation,
    icd9_chapter,
    icd_near,
    icd_relation,
    modifier_relations,
    shares,
)


@pytest.fixture(scope="module")
def lookups():
    return ClaimLookups()


def icd_lookup(lookups, code):
    """The lookup of a FY2024 case in which ``code`` was generated: fabricated when not billable that year, as the
    evaluation's validity check finds it."""
    return lookups.icd([code] if code not in codesets.icd10cm_codes(2024) else [])


def cpt_lookup(lookups, code):
    return lookups.cpt([code] if code not in codesets.cpt_codes(2024) else [])


@pytest.mark.parametrize(
    ("code", "gold", "expected"),
    [
        ("H25.11", ["H25.11"], "exact"),  # age-related nuclear cataract, right eye
        ("H25.12", ["H25.11"], "side or episode"),  # ... left eye
        ("S52.501D", ["S52.501A"], "side or episode"),  # subsequent instead of initial encounter
        ("H25.1", ["H25.11"], "more general"),  # the subcategory header
        ("H25.11", ["H25.1"], "more specific"),
        ("H25.9", ["H25.11"], "same category"),
        ("H26.9", ["H25.11"], "same chapter"),  # another cataract category, chapter 7 (eye)
        ("K80.20", ["H25.11"], "other chapter"),
        ("H25.99", ["H25.11"], "not a code"),  # H25.9 has no children
        ("K80.20", ["H25.11", "K80.20"], "exact"),  # against the whole gold set
    ],
)
def test_icd10_categories(lookups, code, gold, expected):
    assert icd_relation(code, gold, icd_lookup(lookups, code)) == expected


def test_near_shares_see_through_fabrication(lookups):
    assert icd_near("H25.99", ["H25.11"], icd_lookup(lookups, "H25.99")) == {"in a gold category": True,
                                                                             "in a gold chapter": True}
    assert icd_near("K80.99", ["H25.11"], icd_lookup(lookups, "K80.99")) == {"in a gold category": False,
                                                                             "in a gold chapter": False}


@pytest.mark.parametrize(
    ("code", "gold", "expected"),
    [
        ("66984", ["66984"], "exact"),
        ("66982", ["66984"], "same family"),  # another eye procedure
        ("22512", ["22510"], "add-on vs primary"),  # additional vertebra (add-on) for the primary vertebroplasty
        ("27447", ["22510"], "same family"),  # both musculoskeletal, both primaries
        ("47562", ["66984"], "other family"),  # digestive for eye, both Surgery
        ("99213", ["66984"], "not a code"),  # not in the demo catalog
    ],
)
def test_cpt_categories(lookups, code, gold, expected):
    assert cpt_relation(code, gold, cpt_lookup(lookups, code)) == expected


def test_cpt_other_section_and_families():
    anything = CptLookup(exists=lambda code: True, add_on=lambda code: False)
    assert cpt_relation("70450", ["66984"], anything) == "other section"
    assert cpt_family("66984") == ("Surgery", "Eye and ocular adnexa")
    assert cpt_family("69990") == ("Surgery", "Operating microscope")
    assert cpt_family("0001F") == ("Category II", "Category II") and cpt_family("E11.9") is None


def test_modifier_events():
    assert modifier_relations(["66984-LT"], ["66984-RT"]) == [("66984-LT", "wrong side")]
    assert modifier_relations(["66984-RT", "66984-59"], ["66984-RT"]) == [("66984-59", "extra"), ("66984-RT", "exact")]
    assert modifier_relations([], ["66984-RT"]) == [("66984-RT", "missing")]
    # a side modifier on another CPT line is not a wrong side of this one
    assert modifier_relations(["67028-LT"], ["66984-RT"]) == [("67028-LT", "extra"), ("66984-RT", "missing")]


def test_icd9_chapters_and_a_taxonomy_without_side_lookups():
    assert icd9_chapter("250.00") == "240" and icd9_chapter("V45.81") == "V" and icd9_chapter("999") == "800"
    lookup = IcdLookup(exists=lambda code: True, chapter=icd9_chapter)
    assert icd_relation("250.0", ["250.00"], lookup) == "more general"
    assert icd_relation("272.4", ["250.00"], lookup) == "same chapter"
    assert icd_relation("401.9", ["250.00"], lookup) == "other chapter"


def test_shares_with_case_resampled_intervals():
    # case a: two codes, one exact; case b: one exact code; case c: nothing generated
    classified = pd.DataFrame({"encounter_id": ["a", "a", "b"], "category": ["exact", "other family", "exact"],
                               "in a gold family": [True, False, True]})
    table = shares(classified, ["a", "b", "c"], "cpt", n_resamples=400, seed=1).set_index("category")
    assert table.loc["exact", "share"] == pytest.approx(2 / 3) and table.loc["exact", "n"] == 2
    assert table.loc["exact", "total"] == 3 and table.loc["not a code", "share"] == 0
    assert table.loc["in a gold family", "kind"] == "near" and table.loc["exact", "kind"] == "partition"
    # resampling cases: a replicate of only case b gives 1.0, of only case a gives 0.5
    assert 0.5 <= table.loc["exact", "lower"] < table.loc["exact", "share"] < table.loc["exact", "upper"] <= 1.0
    assert table[table.kind == "partition"].share.sum() == pytest.approx(1.0)
    empty = shares(classified.iloc[:0], ["a"], "cpt", n_resamples=10)
    assert np.isnan(empty.share).all() and (empty.total == 0).all()


def test_classify_cases_reads_the_per_case_frame(lookups):
    cases = pd.DataFrame({
        "encounter_id": ["e1"], "fiscal_year": [2024], "year": [2024],
        "pred_icd10": [["H25.12", "H25.99"]], "gold_icd10": [["H25.11"]],
        "pred_cpt": [["66984", "66982"]], "gold_cpt": [["66984"]],
        "pred_modifier": [["66984-LT"]], "gold_modifier": [["66984-RT"]],
        "icd10_fabricated_codes": [["H25.99"]], "cpt_fabricated_codes": [[]],
    })
    out = classify_cases(cases, lookups)
    assert list(out["icd10"].category) == ["side or episode", "not a code"]
    assert list(out["cpt"].category) == ["exact", "same family"]
    assert list(out["modifier"].category) == ["wrong side"]


def test_report_tables_of_the_taxonomy_and_the_breakdowns():
    from claimbench.evaluation.failure_tables import (
        breakdowns_display,
        distance_display,
        distance_reading,
        taxonomy_display,
    )

    classified = pd.DataFrame({"encounter_id": ["a", "a", "b"], "category": ["exact", "not a code", "same chapter"],
                               "in a gold category": [True, True, False], "in a gold chapter": [True, True, True]})
    icd = shares(classified, ["a", "b"], "icd10", n_resamples=50).assign(configuration="ft-mini")
    cpt = shares(classified.iloc[:0].assign(**{"in a gold family": []}), ["a", "b"], "cpt", n_resamples=50)
    table = pd.concat([icd, cpt.assign(configuration="ft-mini")], ignore_index=True)
    row = taxonomy_display(table, "icd10", ["ft-mini", "not-run"]).set_index("Configuration").loc["ft-mini"]
    assert row["Codes"] == "3" and row["exact"].startswith("33% (") and row["in a gold chapter"].startswith("100%")
    distance = distance_display(table, ["ft-mini"]).iloc[0]
    assert distance["ICD-10-CM: not a code"].startswith("33%") and distance["CPT: exact"] == "—"
    assert distance_reading(table, ["ft-mini"]) == (
        "ft-mini: 33% of its 3 ICD-10-CM codes exact, 100% in the chapter of a gold code (33% not a code).")
    breakdowns = pd.DataFrame({"configuration": "knn", "view": "codes_per_case", "group": ["1", "1"], "order": 0,
                               "component": ["icd10", "cpt"], "n": [4, 5], "precision": 0.5, "recall": 0.5,
                               "f1": [0.5, float("nan")]})
    shown = breakdowns_display(breakdowns, ["knn"]).iloc[0]
    assert shown["knn"] == "0.50 / —" and shown["n (ICD-10-CM / CPT)"] == "4 / 5"
