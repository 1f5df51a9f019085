"""Evidence-grounded coding without a language model (claimbench.grounding.evidence): the note's clauses, the
training clauses labelled with the codes they are evidence for, the vote of the nearest anchors, and the claim. The
bag-of-words stand-in of tests/test_grounding.py replaces all-MiniLM-L6-v2, so these check the logic, not the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_grounding import WordEmbedder

from claimbench.grounding import evidence
from claimbench.grounding.evidence import (
    Anchors,
    build_anchors,
    case_scores,
    clause_votes,
    cpt_line_words,
    icd10_clause_codes,
    keep_codes,
    note_clauses,
)

NOTE = """OPERATIVE NOTE
PREOPERATIVE DIAGNOSIS: nuclear cataract, right eye
Past history:HTN, elevated cholesterol and a resolved episode of bronchitis.
Procedure : cataract extraction w/ IOL insertion, OD
The lens was removed by phacoemulsification."""


def test_clauses_drop_headings_and_split_lists():
    clauses = note_clauses(NOTE)
    texts = [t for _, t in clauses]
    assert "HTN, elevated cholesterol and a resolved episode of bronchitis" in texts  # the whole sentence
    assert {"HTN", "elevated cholesterol", "a resolved episode of bronchitis"} <= set(texts)  # and its parts
    assert (3, "cataract extraction w/ IOL insertion, OD") in clauses  # "Procedure :" heading gone, line kept
    assert not any(t.lower().startswith(("past history", "procedure")) for t in texts)
    assert note_clauses("") == []


def test_training_clauses_carry_the_codes_whose_evidence_they_hold():
    record = {"icd10_evidence": [{"code": "I10", "line": 2, "text": "HTN"},
                                 {"code": "E78.5", "line": 2, "text": "Elevated cholesterol"},
                                 {"code": "H25.11", "line": 1, "text": "nuclear cataract, right eye"}]}
    clauses = note_clauses(NOTE)
    labels = dict(zip(clauses, icd10_clause_codes(record, clauses)))
    assert labels[(2, "HTN")] == ("I10",)
    assert labels[(2, "elevated cholesterol")] == ("E78.5",)  # case and spacing do not matter
    assert labels[(2, "HTN, elevated cholesterol and a resolved episode of bronchitis")] == ("I10", "E78.5")
    assert labels[(2, "a resolved episode of bronchitis")] == ()  # what the coder left uncoded
    assert labels[(1, "nuclear cataract, right eye")] == ("H25.11",)
    assert icd10_clause_codes({}, clauses) == [()] * len(clauses)  # an extract without evidence links


def test_cpt_line_words_are_its_rationale_without_documented_and_its_description():
    line = {"cpt": "66984", "rationale": "Cataract extraction with intraocular lens placement documented (RT: right).",
            "description": "Cataract removal with lens implant"}
    assert cpt_line_words(line) == ["Cataract extraction with intraocular lens placement",
                                    "Cataract removal with lens implant"]
    assert cpt_line_words({"cpt": "1", "description": "x"}) == ["x"]


def test_a_clause_votes_by_its_nearest_anchors_share_and_best_similarity():
    anchors = Anchors(np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32), [("A",), (), ("B",)],
                      ["a", "none", "b"])
    [votes] = clause_votes(np.array([[1.0, 0.0]], dtype=np.float32), anchors, k=2)
    assert votes == pytest.approx({"A": 1.0 / 1.8 * 1.0})  # A's share of the two nearest, times its similarity
    [votes] = clause_votes(np.array([[0.8, 0.6]], dtype=np.float32), anchors, k=1)
    assert votes == {}  # nearest to an uncoded clause: no code
    assert clause_votes(np.zeros((0, 2), dtype=np.float32), anchors, k=3) == []


def test_kept_codes_are_valid_above_the_threshold_best_first():
    scores = {"A": 0.9, "B": 0.5, "C": 0.95, "D": 0.5}
    assert keep_codes(scores, {"A", "B", "D"}, 0.4, 6) == ["A", "B", "D"]  # C is not valid: never claimed
    assert keep_codes(scores, {"A", "B", "D"}, 0.6, 6) == ["A"]
    assert keep_codes(scores, {"A", "B", "D"}, 0.0, 2) == ["A", "B"]  # ties by code
    # at least one: the best-voted valid code where none passes the threshold, and nothing without a vote
    assert keep_codes(scores, {"A", "B", "D"}, 0.95, 6) == []
    assert keep_codes(scores, {"A", "B", "D"}, 0.95, 6, min_codes=1) == ["A"]
    assert keep_codes(scores, {"A", "B", "D"}, 0.6, 6, min_codes=1) == ["A"]
    assert keep_codes({"A": 0.0}, {"A"}, 0.5, 6, min_codes=1) == []


def _train() -> pd.DataFrame:
    notes = ["Diagnosis: nuclear cataract\nHistory: HTN and remote bronchitis\nProcedure: phaco cataract extraction",
             "Diagnosis: open angle glaucoma\nHistory: remote bronchitis\nProcedure: laser trabeculoplasty"]
    evidence_links = [[{"code": "H25.11", "line": 0, "text": "nuclear cataract"},
                       {"code": "I10", "line": 1, "text": "HTN"}],
                      [{"code": "H40.11X1", "line": 0, "text": "open angle glaucoma"}]]
    lines = [[{"provider": "P", "cpt": "66984", "modifiers": [], "description": "Cataract removal",
               "rationale": "Phaco cataract extraction documented."}],
             [{"provider": "P", "cpt": "65855", "modifiers": [], "description": "Laser trabeculoplasty",
               "rationale": "Laser trabeculoplasty documented."}]]
    return pd.DataFrame({"encounter_id": ["t1", "t2"], "op_note": notes, "icd10_evidence": evidence_links,
                         "cpt_lines": lines, "icd10": [["H25.11", "I10"], ["H40.11X1"]]})


def test_anchors_and_scores_find_the_coded_facts_and_skip_the_uncoded_ones():
    descriptions = {"icd10cm": [("E11.9", "Type 2 diabetes mellitus without complications")],
                    "cpt": [("66984", "Cataract removal"), ("65855", "Laser trabeculoplasty")]}
    anchors = build_anchors(_train(), WordEmbedder(), descriptions)
    assert ("I10",) in anchors["icd10cm"].codes and () in anchors["icd10cm"].codes
    assert ("E11.9",) in anchors["icd10cm"].codes  # a description anchor: a code training never saw
    assert ("66984",) in anchors["cpt"].codes and ("65855",) in anchors["cpt"].codes
    cases = pd.DataFrame({"op_note": ["Dx: glaucoma open angle\nHistory: remote bronchitis; diabetes mellitus type 2\n"
                                      "Procedure: trabeculoplasty by laser"]})
    scores = case_scores(cases, anchors, WordEmbedder(), ks=(1,))[1]
    icd = keep_codes(scores["icd10cm"][0], {"H40.11X1", "E11.9", "I10", "H25.11"}, 0.5, 6)
    assert set(icd) == {"H40.11X1", "E11.9"}  # remote bronchitis is near an uncoded clause: no code
    assert keep_codes(scores["cpt"][0], {"66984", "65855"}, 0.5, 1) == ["65855"]


def test_related_terms_are_the_classifications_other_words_for_a_code():
    from claimbench.codesets import icd10cm_related_terms

    # H25.12's own entry has no inclusion term; its parent H25.1 has the eponym and the synonym
    assert icd10cm_related_terms("H25.12") == ("Age-related nuclear cataract", "Cataracta brunescens",
                                               "Nuclear sclerosis cataract")
    assert "Esophageal reflux NOS" in icd10cm_related_terms("K21.9")  # the code's own inclusion term
    assert icd10cm_related_terms("I10") == ()  # a category under a block: no parent category, no term
    assert icd10cm_related_terms("Q99.99") == ()  # not in the classification


def test_description_anchors_add_the_related_terms_only_when_asked():
    from claimbench.grounding.codeset_index import CodeSet

    codesets = {"icd10cm": CodeSet("icd10cm", ["H25.12", "X00.0"], ["Age-related nuclear cataract, left eye", "old"],
                                   [2025], np.ones((1, 2), dtype=bool)),
                "cpt": CodeSet("cpt", ["66984"], ["Cataract removal"], [2025], np.ones((1, 1), dtype=bool))}
    plain = evidence.description_anchors(["H25.12", "H25.12", "Q99.99"], codesets)
    assert plain == {"icd10cm": [("H25.12", "Age-related nuclear cataract, left eye")],
                     "cpt": [("66984", "Cataract removal")]}  # once per code; a code not in the index: none
    related = evidence.description_anchors(["H25.12"], codesets, related_terms=True)["icd10cm"]
    assert related[0] == plain["icd10cm"][0]
    assert ("H25.12", "Nuclear sclerosis cataract") in related and ("H25.12", "Cataracta brunescens") in related


def test_anchors_file_round_trips_codes_uncoded_clauses_and_words(tmp_path):
    descriptions = {"icd10cm": [("E11.9", "Type 2 diabetes mellitus without complications")],
                    "cpt": [("66984", "Cataract removal")]}
    anchors = build_anchors(_train(), WordEmbedder(), descriptions)
    evidence.save_anchors(tmp_path / "anchors.npz", anchors)
    loaded = evidence.load_anchors(tmp_path / "anchors.npz")
    assert set(loaded) == {"icd10cm", "cpt"}
    for system, anchor in anchors.items():
        assert loaded[system].codes == anchor.codes and loaded[system].texts == anchor.texts
        assert np.array_equal(loaded[system].vectors, anchor.vectors)
    assert () in loaded["icd10cm"].codes  # an uncoded clause stays uncoded


def test_evidence_coder_takes_the_training_split_or_its_anchors_not_both(tmp_path):
    with pytest.raises(ValueError, match="one of the two"):
        evidence.EvidenceCoder(tmp_path / "index.npz", {})
    with pytest.raises(ValueError, match="one of the two"):
        evidence.EvidenceCoder(tmp_path / "index.npz", {}, train=_train(), anchors=tmp_path / "anchors.npz")


def test_settings_chosen_on_validation_round_trip():
    record = {"chosen": {"icd10cm": {"k": 3, "threshold": 0.25, "max_codes": 6, "f1": 0.5},
                         "cpt": {"k": 1, "threshold": 0.15, "max_codes": 1, "f1": 0.7}}}
    record["chosen"]["cpt"]["min_codes"] = 1
    chosen = evidence.chosen_settings(record)
    assert chosen["icd10cm"] == evidence.EvidenceSetting(3, 0.25, 6, 0)  # a record without the key: none
    assert chosen["cpt"] == evidence.EvidenceSetting(1, 0.15, 1, 1)


def test_evidence_configuration_reads_the_training_split_for_its_choice_and_prediction():
    from claimbench.config_check import ConfigError, check_configuration_references
    from claimbench.plan.grounding import reference_choice_inputs
    from claimbench.plan.predict import predict_inputs, resolve
    from claimbench.plan.style_shift import shifted_configurations

    config = {"configurations": {"grounded": {"method": "grounded"},
                                 "grounded+evidence": {"method": "grounded", "anchors": "training_evidence"}},
              "models": {}, "predict": {"shifted_configurations": ["grounded+evidence"]}, "grounding": {},
              "retrieval": {}}
    # the training split's anchors, embedded once by rule evidence_anchors, not the split itself
    inputs = predict_inputs(config, "grounded+evidence", lambda m: m)
    assert inputs["anchors"].endswith("grounding/evidence_anchors.npz") and "train" not in inputs
    assert "anchors" not in predict_inputs(config, "grounded", lambda m: m)
    assert set(reference_choice_inputs(config, "grounded+evidence", __import__("claimbench.plan.layout").plan.layout
                                       .LAYOUT)) == {"validation", "index", "anchors"}
    assert "evidence" in resolve(config, "grounded+evidence")["model_label"]
    assert shifted_configurations(config, ["grounded", "grounded+evidence"]) == ["grounded+evidence"]
    assert shifted_configurations({"predict": {}}, ["a", "b"]) == ["a", "b"]
    check_configuration_references(config)
    with pytest.raises(ConfigError, match="predict.shifted_configurations: 'knn' is not a key of `configurations`"):
        check_configuration_references({**config, "predict": {"shifted_configurations": ["knn"]}})


def test_schema_allows_anchors_on_grounded_only():
    from pathlib import Path

    from claimbench.config_check import ConfigError, check_schema

    import yaml

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "config.yaml").read_text())
    check_schema(config, root / "config/schema.yaml")
    config["configurations"]["knn"]["anchors"] = "training_evidence"
    with pytest.raises(ConfigError):
        check_schema(config, root / "config/schema.yaml")
