"""Paper 003's responses graded by the claim taxonomy, with the paper's cited shares beside."""

from __future__ import annotations

import pandas as pd
import pytest

from claimbench.querybench.errors import response_taxonomy, taxonomy_table

QB = {"headline_temperature": 0.2, "icd10cm_fiscal_year": 2024}


def _scored() -> pd.DataFrame:
    rows = [  # system, queried code, predicted, valid (normal form: no dots)
        ("icd10cm", "H2511", "H2511", True),  # exact
        ("icd10cm", "H2511", "H251", True),  # more general (the header)
        ("icd10cm", "H2511", "H2599", False),  # not a code
        ("icd10cm", "H2511", None, None),  # no code: not graded
        ("icd9cm", "25000", "2500", True),  # more general
        ("icd9cm", "25000", "2724", True),  # same chapter (240-279)
        ("cpt", "66984", "66982", True),  # same family
    ]
    frame = pd.DataFrame(rows, columns=["system", "code", "predicted", "valid"])
    return frame.assign(model="tiny", mode="free", temperature=0.2)


def test_response_taxonomy_and_its_table():
    table = response_taxonomy(_scored(), QB, {}, n_resamples=50, seed=0)
    share = table.set_index(["system", "category"]).share
    assert share[("icd10cm", "exact")] == pytest.approx(1 / 3)
    assert share[("icd10cm", "more general")] == pytest.approx(1 / 3)
    assert share[("icd10cm", "not a code")] == pytest.approx(1 / 3)
    assert share[("icd10cm", "in a gold category")] == 1
    assert share[("icd9cm", "more general")] == share[("icd9cm", "same chapter")] == 0.5
    assert share[("cpt", "same family")] == 1
    shown = taxonomy_table(table, "icd10cm").set_index("Model")
    assert shown.loc["GPT-4", "not a code"] == "18.5%" and shown.loc["GPT-4", "exact"] == "34.2% of all responses"
    assert shown.loc["GPT-4", "more general"] == "—"
    assert shown.loc["tiny", "exact"].startswith("33.3% (") and shown.loc["tiny", "Responses with a code"] == "3"
    # nothing at the headline temperature: an empty table, not an error
    assert response_taxonomy(_scored().assign(temperature=1.0), QB, {}, n_resamples=5).empty
