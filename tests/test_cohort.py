from pathlib import Path

import numpy as np
import pandas as pd

from claimbench import cohort

SRC = str(Path(__file__).resolve().parents[1] / "src")


def small():
    return pd.DataFrame({
        "patient_age": [30, 50, 70, 90],
        "patient_sex": ["F", "F", "F", "M"],
        "surgery_date": ["2019-02-01", "2019-11-11", "2020-05-05", "2020-06-06"],
        "service": ["Urology", "Urology", "Ophthalmology", "Urology"],
        "icd10": [["N20.1", "I10"], ["N20.1"], ["H25.11"], ["N20.1", "N20.1"]],
        "cpt_lines": [[{"cpt": "52356"}, {"cpt": "52332"}], [{"cpt": "52356"}], [{"cpt": "66984"}], [{"cpt": "52356"}, {"cpt": "52356"}]],
    })


def test_table1_arithmetic():
    t = cohort.table1(small()).set_index(["characteristic", "level"])["value"]
    assert t[("Total Encounters", "")] == "4"
    assert t[("Patient Age, mean (SD)", "")] == "60.0 (25.8)"  # sd of 30,50,70,90 = 25.82
    assert t[("Sex, n (%)", "F")] == "3 (75.0)" and t[("Sex, n (%)", "M")] == "1 (25.0)"
    assert t[("Year of Surgery, n (%)", "2019")] == "2 (50.0)"
    assert t[("Service, n (%)", "Urology")] == "3 (75.0)"


def test_code_counts_count_cases_not_lines():
    icd, cpt = cohort.code_counts(small())
    assert icd["N20.1"] == 3 and icd["I10"] == 1
    assert cpt["52356"] == 3 and cpt["52332"] == 1
    per = cohort.codes_per_case(small())
    assert per.icd10.tolist() == [2, 1, 1, 1] and per.cpt.tolist() == [2, 1, 1, 1]


def test_code_count_ties_break_the_same_way_in_every_process():
    """Figure 2's top codes and code_counts.csv list tied codes in first-appearance order, whatever the hash seed."""
    import os
    import subprocess
    import sys

    script = ("import pandas as pd; from claimbench import cohort; "
              "f = pd.DataFrame({'icd10': [['B1', 'A1', 'C1', 'D1', 'E1']], 'cpt_lines': [[{'cpt': c} for c in 'zyxwv']]}); "
              "icd, cpt = cohort.code_counts(f); print([c for c, _ in icd.most_common()], [c for c, _ in cpt.most_common()])")
    orders = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": SRC}).stdout
              for seed in range(6)}
    assert orders == {"['B1', 'A1', 'C1', 'D1', 'E1'] ['z', 'y', 'x', 'w', 'v']\n"}


def test_length_summary_and_figures(tmp_path):
    stats = cohort.length_summary(np.array([10, 20, 30, 40]))
    assert stats["mean"] == 25 and stats["median"] == 25 and stats["min"] == 10 and stats["max"] == 40
    cohort.figure1(np.array([10, 20, 30, 40]), "tok", tmp_path / "f1.png")
    cohort.figure2(small(), tmp_path / "f2.png")
    assert (tmp_path / "f1.png").stat().st_size > 1000 and (tmp_path / "f2.png").stat().st_size > 1000


def test_table1_beside_paper_aligns_levels():
    ours = pd.DataFrame([("Sex, n (%)", "F", "3 (75.0)"), ("Service, n (%)", "Urology", "1 (1.0)")], columns=["characteristic", "level", "value"])
    paper = pd.DataFrame([("Sex, n (%)", "F", "109068 (56.6)"), ("Service, n (%)", "Podiatry", "1 (0.0)")], columns=["characteristic", "level", "value"])
    merged = cohort.table1_beside_paper(ours, paper)
    row = merged[merged.level == "F"].iloc[0]
    assert row["value (paper 000, cited)"] == "109068 (56.6)" and row["value (this run)"] == "3 (75.0)"
    assert merged[merged.level == "Podiatry"].iloc[0]["value (this run)"] == "–"
