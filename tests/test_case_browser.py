"""The case browser: codes marked matched / missed / extra / fabricated, untrusted text escaped, one static page."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from claimbench.evaluation.cases import read_predictions, score_cases
from claimbench.evaluation.validity import ReferenceSets
from claimbench.report.case_browser import (
    EXTRA,
    FABRICATED,
    MATCHED,
    MISSED,
    Code,
    build_cases,
    fabricated_pairs,
    mark_codes,
    render_html,
    write_case_browser,
)

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & </pre></details>'


def test_mark_codes():
    marked = mark_codes(["A01.0", "E11", "H25.11"], ["H25.11", "M17.11"], fabricated=["E11"])
    assert marked == [Code("A01.0", EXTRA), Code("E11", FABRICATED), Code("H25.11", MATCHED), Code("M17.11", MISSED)]
    # a billed code is matched even if it is not in the reference set (a user's extract may hold such codes)
    assert mark_codes(["X99"], ["X99"], fabricated=["X99"]) == [Code("X99", MATCHED)]
    assert fabricated_pairs(["66984-RT", "48850-RT", "66984-Q9"], cpt=["48850"], modifiers=["Q9"]) == [
        "48850-RT", "66984-Q9"]


class Spans(HTMLParser):
    """(class, text) of every code chip, per case section; and every tag name seen."""

    def __init__(self):
        super().__init__()
        self.tags, self.sections, self._chip = set(), [], None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append([])
        if tag == "span" and "code" in (attrs.get("class") or "").split() and self.sections:
            self._chip = [attrs["class"].split()[1], ""]

    def handle_data(self, data):
        if self._chip is not None:
            self._chip[1] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._chip is not None:
            self.sections[-1].append(tuple(self._chip))
            self._chip = None


def fixture(tmp_path):
    test = pd.DataFrame(
        [
            {
                "encounter_id": "e1", "surgery_date": "2020-10-05", "fiscal_year": 2021, "service": "Ophthalmology",
                "op_note": "PROCEDURE: cataract " + HOSTILE, "icd10": ["H25.11", "U07.1"],
                "cpt_lines": [{"provider": "Dr A", "cpt": "66984", "modifiers": ["RT"], "description": "x"}],
            },
            {
                "encounter_id": "e2", "surgery_date": "2021-01-02", "fiscal_year": 2021, "service": "Orthopedics",
                "op_note": "knee", "icd10": ["M17.12"],
                "cpt_lines": [{"provider": "Dr B", "cpt": "27447", "modifiers": [], "description": ""}],
            },
        ]
    )
    test_path = tmp_path / "test.parquet"
    pq.write_table(pa.Table.from_pandas(test), test_path)
    answers = {
        # e1: H25.11 matched, I10 extra (a real FY2021 code), E11 fabricated (not billable), U07.1 missed;
        # 66984 matched, 48850 fabricated (not in the catalog); 66984-RT matched; e2: prose, no claim
        "ft-mini": {
            "e1": "ICD-10-CM Diagnoses:\nH25.11, I10, E11\nCPT Codes:\nCPT 1: 66984 | Modifiers: RT\n"
                  "CPT 2: 48850 | Modifiers: LT\n" + HOSTILE,
            "e2": "I am a language model " + HOSTILE,
        },
        "knn": {"e1": "ICD-10-CM Diagnoses:\nH25.11, U07.1\nCPT Codes:\nCPT 1: 66984 | Modifiers: RT"},
    }
    configurations = pd.DataFrame(
        {"configuration": ["ft-mini", "knn", "api"], "run": [True, True, False],
         "reason": ["", "", "disabled <b>in config</b>"], "method": ["qlora", "knn", "api"],
         "model": ["tiny-llama", "", ""], "paper_column": ["Fine-tuned Phi-3-mini", "", "GPT-4o"]}
    )
    configurations_path = tmp_path / "configurations.csv"
    configurations.to_csv(configurations_path, index=False)
    case_paths, prediction_paths = {}, {}
    for name in ("ft-mini", "knn", "api"):
        prediction_paths[name] = tmp_path / f"{name}.jsonl"
        prediction_paths[name].write_text(
            "".join(json.dumps({"encounter_id": e, "generated_text": t}) + "\n" for e, t in answers.get(name, {}).items())
        )
        case_paths[name] = tmp_path / f"{name}.parquet"
        cases = score_cases(test, read_predictions(prediction_paths[name]), ReferenceSets(), scorer=None)
        cases.to_parquet(case_paths[name], index=False)
    return test_path, configurations_path, case_paths, prediction_paths


def test_page_marks_codes_and_escapes_untrusted_text(tmp_path):
    test_path, configurations_path, case_paths, prediction_paths = fixture(tmp_path)
    out = tmp_path / "cases.html"
    assert write_case_browser(test_path, configurations_path, case_paths, prediction_paths, out) == 2
    html = out.read_text(encoding="utf-8")
    # untrusted text (note, model output, a configuration's reason) never becomes markup
    parser = Spans()
    parser.feed(html)
    assert not parser.tags & {"script", "img", "b"}
    assert html.count("&lt;script&gt;") == 3  # e1's note, ft-mini's answers to e1 and e2
    assert "disabled &lt;b&gt;in config&lt;/b&gt;" in html
    # self-contained: no resource fetched from anywhere
    assert "src=" not in html.replace("src=x", "") and "<link" not in html
    e1, e2 = parser.sections
    # per component row: the coder's codes, then ft-mini's, then knn's
    assert e1[:6] == [("gold", "H25.11"), ("gold", "U07.1"), ("fabricated", "E11"), ("matched", "H25.11"),
                      ("extra", "I10"), ("missed", "U07.1")]
    assert {("matched", "H25.11"), ("extra", "I10"), ("fabricated", "E11"), ("missed", "U07.1"),
            ("matched", "66984"), ("fabricated", "48850"), ("matched", "66984-RT"), ("fabricated", "48850-LT")} <= set(e1)
    # e2: ft-mini wrote no claim and knn no line, so every billed code is missed in both columns
    assert [chip for chip in e2 if chip[0] != "gold"] == [("missed", "M17.12")] * 2 + [("missed", "27447")] * 2
    assert "no parseable claim" in html
    # api did not run: listed with its reason, no column; knn has no line for e2: "no prediction"
    assert "not run: disabled" in html and ">api<" not in html.split("<h2>Cases</h2>")[1]
    assert "no prediction" in html.split('id="case-2"')[1]


def test_max_cases_and_no_configuration(tmp_path):
    test_path, configurations_path, case_paths, prediction_paths = fixture(tmp_path)
    from claimbench.data.io import read_encounters

    test = read_encounters(test_path)
    cases = {name: pd.read_parquet(case_paths[name]) for name in ("ft-mini", "knn")}
    shown, n_scored = build_cases(test, cases, {}, max_cases=1)
    assert [c.encounter_id for c in shown] == ["e1"] and n_scored == 2
    assert shown[0].answers[0].n_matched == 3 and shown[0].answers[0].n_fabricated == 3
    configurations = pd.read_csv(configurations_path, keep_default_na=False)
    assert "the first 1 of the 2 scored" in render_html(shown, n_scored, configurations)
    empty = render_html(*build_cases(test, {}, {}), configurations)
    assert "No configuration ran" in empty
