"""Paper 002's description-grounded variant (claimbench.paper002.grounded, beyond the paper): the fine-tuned model's
words read from its text, even broken, each resolved to the nearest valid code, and the result scored by paper 002's
own evaluation. The bag-of-words stand-in of tests/test_grounding.py replaces all-MiniLM-L6-v2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_grounding import WordEmbedder
from test_paper002_stage import frame, write_predictions

from claimbench.grounding.codeset_index import CodeSet, save_codesets
from claimbench.paper002 import grounded
from claimbench.paper002.evaluate import evaluate
from claimbench.grounding.evidence import Anchors
from claimbench.paper002.grounded import Entry, ground_chart, model_entries, rationale_words
from claimbench.paper002.schema import parse

WELL_FORMED = json.dumps({
    "icd10": [{"code": "K2020.04", "rationale": 'The note documents "cholelithiasis", which is coded as K2020.04.',
               "evidence": {"line": 1, "text": "cholelithiasis"}}],
    "cpt": [{"code": "H2020", "rationale": "Laparoscopic cholecystectomy documented."}]})
# as the fine-tuned stand-in writes them: a quote left open, a missing evidence, a second claim started after the first
BROKEN = ('{"icd10":[{"code":"H2021.02.02","rationale":"The note documents \\"type 2 diabetes\\", which is coded as '
          'H2021.02.","evidence":{"line":2,"text":"type 2 diabetes"}},{"code":"I2021","rationale":"The note '
          'documents \\"obstructive sleep apnea on CPAP, which is coded as I2021.02.\\""}}],"cpt":[{"code":"X1",'
          '"rationale":"Lap chole documented."}]}\n{"icd10":[{"code":"E2021.02","rationale":"The note documents '
          '\\"severe right side right side')


def test_model_entries_read_each_entrys_words_and_cited_evidence():
    assert model_entries(WELL_FORMED) == [Entry("icd10", "cholelithiasis", 1, "cholelithiasis"),
                                          Entry("cpt", "Laparoscopic cholecystectomy")]


def test_model_entries_read_broken_json_and_only_the_first_claim():
    assert model_entries(BROKEN) == [Entry("icd10", "type 2 diabetes", 2, "type 2 diabetes"),
                                     Entry("icd10", "obstructive sleep apnea on CPAP"),
                                     Entry("cpt", "Lap chole")]


@pytest.mark.parametrize("text", [None, "", "Sure! Here are the codes: K80.20", '{"icd10": [',
                                  '{"cpt":[{"code":"1"}]}'])
def test_text_without_entry_words_gives_no_entries(text):
    assert model_entries(text) == []


def test_rationale_words_take_the_quote_or_the_text_before_documented():
    assert rationale_words('The note documents "nuclear cataract", which is coded as H25.11.') == "nuclear cataract"
    assert rationale_words("Pterygium excision with graft documented.") == "Pterygium excision with graft"
    assert rationale_words("Arthroscopic meniscectomy.") == "Arthroscopic meniscectomy"


def _anchors() -> dict[str, Anchors]:
    def unit(rows):
        rows = np.array(rows, dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    # the nearest ICD-10-CM anchor of "cholelithiasis" carries a code not valid in the year: the next one is taken
    return {"icd10cm": Anchors(unit([[1, 0.05], [1, 0.2], [0, 1]]), [("K80.99",), ("K80.20",), ("E11.9",)],
                               ["gallstones", "cholelithiasis", "diabetes"]),
            "cpt": Anchors(unit([[1, 0], [0, 1]]), [("47562",), ("47600",)], ["lap chole", "open chole"])}


def test_each_entry_takes_its_nearest_valid_code_the_models_codes_dropped():
    entries = [Entry("icd10", "cholelithiasis", 1, "cholelithiasis"), Entry("icd10", "gallstones"),
               Entry("icd10", "type 2 diabetes"), Entry("cpt", "Lap chole"), Entry("cpt", "laparoscopic")]
    vectors = {"cholelithiasis": np.array([1, 0], np.float32), "gallstones": np.array([1, 0.1], np.float32),
               "type 2 diabetes": np.array([0, 1], np.float32), "Lap chole": np.array([1, 0], np.float32),
               "laparoscopic": np.array([0.9, 0.1], np.float32)}
    valid = {"icd10cm": frozenset({"K80.20", "E11.9"}), "cpt": frozenset({"47562", "47600"})}
    note = "OPERATIVE NOTE\nDiagnosis: cholelithiasis.\nHistory: Type 2 diabetes.\nProcedure: lap chole.\n"
    claim, record = ground_chart(entries, note, 2024, 2024, _anchors(), vectors, lambda system, year: valid[system])
    assert [e["code"] for e in claim["icd10"]] == ["K80.20", "E11.9"]  # gallstones -> K80.20 again: kept once
    assert claim["icd10"][0]["evidence"] == {"line": 1, "text": "cholelithiasis"}  # the model's own citation
    assert claim["icd10"][1]["evidence"] == {"line": 2, "text": "type 2 diabetes"}  # no citation: the line saying it
    assert [e["code"] for e in claim["cpt"]] == ["47562"]
    assert [r["code"] for r in record] == ["K80.20", "K80.20", "E11.9", "47562", "47562"]
    assert record[0]["anchor"] == "cholelithiasis" and record[0]["cosine"] > 0.9
    assert parse(json.dumps(claim)).claim is not None  # what paper 002's evaluation parses


def test_no_valid_code_leaves_the_entry_unclaimed():
    claim, record = ground_chart([Entry("cpt", "Lap chole")], "note", 2024, 2024, _anchors(),
                                 {"Lap chole": np.array([1, 0], np.float32)}, lambda system, year: frozenset())
    assert claim == {"icd10": [], "cpt": []} and record[0]["code"] is None


def test_grounded_predictions_are_scored_by_paper002s_evaluation(tmp_path, monkeypatch):
    import claimbench.retrieval

    monkeypatch.setattr(claimbench.retrieval, "load_embedder", lambda *a, **k: WordEmbedder())
    years = [2023, 2024]
    icd = CodeSet("icd10cm", ["K80.20", "E11.9", "K80.21"],
                  ["Calculus of gallbladder without cholecystitis without obstruction",
                   "Type 2 diabetes mellitus without complications",
                   "Calculus of gallbladder without cholecystitis with obstruction"], years, np.ones((2, 3), bool))
    cpt = CodeSet("cpt", ["47562", "47600"], ["Laparoscopic cholecystectomy", "Open cholecystectomy"], years,
                  np.ones((2, 2), bool))
    save_codesets(tmp_path / "index.npz", {"icd10cm": icd, "cpt": cpt})
    charts = frame(3)
    # the model's answers: right words with invented codes, broken JSON, prose
    texts = {"E000": WELL_FORMED, "E001": BROKEN, "E002": "I cannot code this chart."}
    rows = [{"encounter_id": e, "generated_text": t, "model": "tiny"} for e, t in texts.items()]
    out = grounded.ground_predictions(rows, charts, frame(4), tmp_path / "index.npz", {})
    assert [r["encounter_id"] for r in out] == ["E000", "E001", "E002"]
    assert json.loads(out[0]["generated_text"])["icd10"][0]["code"] == "K80.20"
    assert json.loads(out[2]["generated_text"]) == {"icd10": [], "cpt": []}
    path = tmp_path / "grounded.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in out))
    result = evaluate(charts, frame(4), {"fine-tuned": write_predictions(tmp_path / "ft.jsonl", texts),
                                         grounded.CONFIGURATION: str(path)})
    levels = result.levels.set_index(["configuration", "component"])
    assert levels.loc[("fine-tuned", "icd10_l3"), "f1"] == 0  # invented codes
    # E000: K80.20 of {K80.20, E11.9}; E001: E11.9 (the diabetes words; the sleep apnoea words share no word with any
    # anchor, so claim nothing) of the same; E002: nothing
    assert levels.loc[(grounded.CONFIGURATION, "icd10_l3"), "recall"] == pytest.approx((0.5 + 0.5 + 0) / 3)
    assert levels.loc[(grounded.CONFIGURATION, "cpt"), "recall"] == pytest.approx(2 / 3)
    facts = result.summary["configurations"][grounded.CONFIGURATION]["validity"]
    assert facts["icd10_fabricated"] == 0 and facts["cpt_fabricated"] == 0
    summary = grounded.meta(out, {"model": "tiny", "run": True}, 1.0)
    assert summary["n_cases"] == 3 and summary["charts_without_words"] == 1
    assert summary["n_entries"] == 5 and summary["n_resolved"] == 4


def test_the_stage_evaluates_the_grounded_variant_beside_the_papers_two():
    from claimbench.plan import paper002 as plan

    assert plan.EVALUATED == ("zero-shot", "fine-tuned", grounded.CONFIGURATION)
    assert grounded.CONFIGURATION == plan.GROUNDED and grounded.SOURCE in plan.CONFIGURATIONS


def test_evidence_stands_on_the_line_that_holds_the_cited_words():
    lines = ["OPERATIVE NOTE", "Diagnosis: cholelithiasis.", "History: Type 2 diabetes."]
    cited = Entry("icd10", "cholelithiasis", 1, "cholelithiasis")
    assert grounded._evidence_line(lines, cited) == (1, "cholelithiasis")
    # a wrong line named for words copied right: the line that holds them
    misplaced = Entry("icd10", "type 2 diabetes", 0, "type 2 diabetes")
    assert grounded._evidence_line(lines, misplaced) == (2, "type 2 diabetes")
    # words found nowhere: the line the model named
    assert grounded._evidence_line(lines, Entry("icd10", "gallstones", 1, "gallstones")) == (1, "gallstones")
    assert grounded._evidence_line(lines, Entry("icd10", "gallstones")) == (0, "gallstones")


def test_report_states_the_grounded_variant_against_zero_shot(tmp_path):
    from claimbench.paper002.report import levels_display, verdict

    charts = frame(2)
    texts = {"E000": WELL_FORMED, "E001": "prose"}
    answers = {e: json.dumps({"icd10": [{"code": "K80.20", "rationale": "r",
                                         "evidence": {"line": 1, "text": "cholelithiasis"}}],
                              "cpt": [{"code": "47562", "rationale": "r"}]}) for e in charts.encounter_id}
    result = evaluate(charts, charts, {"zero-shot": write_predictions(tmp_path / "zs.jsonl", {"E000": "", "E001": ""}),
                                       "fine-tuned": write_predictions(tmp_path / "ft.jsonl", texts),
                                       grounded.CONFIGURATION: write_predictions(tmp_path / "gr.jsonl", answers)})
    result.levels.to_csv(tmp_path / "levels.csv", index=False)
    inputs = {"paper002_levels": tmp_path / "levels.csv"}
    text = verdict(inputs)
    # K80.20 of {K80.20, E11.9} on each chart: P 1, R 0.5, F1 2/3; CPT right on both
    assert "Exact codes (Level 3) 0.67, Level 4 0.67, CPT 1.00" in text
    assert "own codes score Level 3 0.00, CPT 0.00" in text
    table = levels_display(inputs).set_index("level")
    assert table.loc["CPT (exact set)", f"{grounded.CONFIGURATION} F1"] == "1.00"
