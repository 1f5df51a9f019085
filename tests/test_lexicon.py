"""The training split's code lexicon and the rag_lexicon prompt (beyond the paper: ft-mini+lexicon)."""

import pandas as pd
import pytest

from claimbench.claim import Claim, CptLine, render_claim
from claimbench.lexicon import (CodeLexicon, CptDescriptionIndex, best_codes, code_hints, hint_block,
                                normalize_phrase)
from claimbench.predict.run import example_claims, prompt_examples
from claimbench.prompts import build_prompt, training_pair


def chart(eid, note, evidence, cpt="66984"):
    return {"encounter_id": eid, "op_note": note, "icd10": [code for code, _ in evidence],
            "icd10_evidence": [{"code": code, "line": 0, "text": text} for code, text in evidence],
            "cpt_lines": [{"provider": "Dr. X", "cpt": cpt, "modifiers": [], "description": "a procedure"}]}


TRAIN = pd.DataFrame([
    chart("T1", "Dx: Age-related nuclear cataract, OD. PMH: hyperlipidemia.",
          [("H25.11", "age-related nuclear cataract"), ("E78.5", "hyperlipidemia")]),
    chart("T2", "Dx: age-related  nuclear cataract, OS.", [("H25.12", "Age-related nuclear cataract")]),
    chart("T3", "Dx: age-related nuclear cataract, OS. Hx: hypertension.",
          [("H25.12", "age-related nuclear cataract"), ("I10", "hypertension")]),
    chart("T4", "Dx: nuclear cataract.", [("H25.10", "nuclear cataract")]),
])
LEXICON = CodeLexicon.from_records(TRAIN.to_dict("records"))


def test_phrases_are_counted_case_and_space_insensitively():
    assert normalize_phrase("  Age-related\tNuclear  cataract ") == "age-related nuclear cataract"
    assert LEXICON.counts["age-related nuclear cataract"] == {"H25.12": 2, "H25.11": 1}
    assert LEXICON.counts["hyperlipidemia"] == {"E78.5": 1}


def test_hints_in_note_order_codes_by_count_contained_phrase_dropped():
    note = "PMH: Hypertension and HYPERLIPIDEMIA. Dx: age-related nuclear cataract, left eye."
    hints = LEXICON.hints(note)
    # "nuclear cataract" lies inside the longer phrase found: only the longer one is shown
    assert hints == [("hypertension", ["I10"]), ("hyperlipidemia", ["E78.5"]),
                     ("age-related nuclear cataract", ["H25.12", "H25.11"])]
    assert best_codes(LEXICON.hints(note)) == ["I10", "E78.5", "H25.12"]
    assert LEXICON.hints("Dx: nuclear cataract.") == [("nuclear cataract", ["H25.10"])]


def test_whole_words_only():
    assert LEXICON.hints("prehypertension noted") == []
    assert LEXICON.hints("hypertensions") == []


def test_a_training_note_sees_the_lexicon_without_its_own_evidence():
    # T1 is the only source of E78.5 and of H25.11: left out, its own hints hold neither
    assert LEXICON.hints(TRAIN.op_note[0], "T1") == [("age-related nuclear cataract", ["H25.12"])]
    assert LEXICON.hints(TRAIN.op_note[3], "T4") == []  # T4's phrase came only from T4
    assert LEXICON.counts["hyperlipidemia"] == {"E78.5": 1}  # leaving out does not change the lexicon
    assert LEXICON.hints(TRAIN.op_note[0], "unseen")[1] == ("hyperlipidemia", ["E78.5"])


def test_no_evidence_gives_an_empty_lexicon_and_the_none_hint():
    plain = CodeLexicon.from_records([{"encounter_id": "X", "icd10": ["I10"], "op_note": "hypertension"}])
    assert plain.counts == {} and plain.hints("hypertension") == []
    assert hint_block([]) == "ICD-10-CM codes that coders gave to phrases found in this report:\n(none found)"
    assert hint_block([("htn", ["I10", "I11.9"])]).endswith("\nhtn: I10, I11.9")


def test_rag_lexicon_prompt_is_the_rag_prompt_with_the_hints_before_the_format():
    family = "phi3"
    claims = [render_claim(Claim.from_record(r)) for r in TRAIN.head(2).to_dict("records")]
    block = hint_block(LEXICON.hints("hypertension"))
    rag = build_prompt("rag", "NOTE", examples=claims, family=family)
    lexicon = build_prompt("rag_lexicon", "NOTE", examples=[*claims, block], family=family)
    head, tail = rag.split("Provide the answer in the following format:")
    assert lexicon == f"{head}{block}\n\nProvide the answer in the following format:{tail}"
    assert "Relevant Example Claim 3" not in lexicon
    prompt, _ = training_pair("NOTE", Claim(icd10=("I10",), cpt_lines=(CptLine("Dr. X", "66984", (), "a"),)),
                              family=family, kind="rag_lexicon", examples=[*claims, block])
    assert prompt == lexicon  # trained on the prompt it predicts with
    with pytest.raises(ValueError, match="at least one example claim"):
        build_prompt("rag_lexicon", "NOTE", examples=[block], family=family)


def test_code_hints_table_and_prompt_examples_read_it(tmp_path):
    queries = pd.concat([TRAIN, pd.DataFrame([chart("Q1", "Known hyperlipidemia; nuclear cataract OS", [])])])
    table = code_hints(queries, TRAIN)
    assert table.encounter_id.tolist() == ["T1", "T2", "T3", "T4", "Q1"]
    blocks = dict(zip(table.encounter_id, table.hints))
    assert blocks["Q1"] == hint_block([("hyperlipidemia", ["E78.5"]), ("nuclear cataract", ["H25.10"])])
    assert "E78.5" not in blocks["T1"]  # the training note's own evidence is left out
    table.to_parquet(tmp_path / "hints.parquet")
    neighbours = {"T1": ["T2", "T3"], "Q1": ["T3", "T2"]}
    plain = prompt_examples("rag", neighbours, TRAIN)
    assert plain == example_claims(neighbours, TRAIN)
    hinted = prompt_examples("rag_lexicon", neighbours, TRAIN, tmp_path / "hints.parquet")
    assert hinted["Q1"] == [*plain["Q1"], blocks["Q1"]]
    with pytest.raises(ValueError, match="needs the code hints"):
        prompt_examples("rag_lexicon", neighbours, TRAIN)
    table.head(2).to_parquet(tmp_path / "short.parquet")
    with pytest.raises(ValueError, match="short.parquet: no code hints for 1 encounter"):
        prompt_examples("rag_lexicon", neighbours, TRAIN, tmp_path / "short.parquet")


class WordEmbedder:
    """A stand-in for sentence-transformers: bag-of-words vectors over a fixed vocabulary."""

    VOCAB = ["cataract", "lens", "hernia", "inguinal", "knee", "arthroscopy", "removal", "repair"]

    def encode(self, texts, **_):
        import numpy as np

        return np.array([[t.lower().count(w) for w in self.VOCAB] + [0.01] for t in texts], dtype="float32")


def test_cpt_candidates_are_the_closest_descriptions_to_any_line():
    catalog = pd.DataFrame({"cpt": ["66984", "49505", "29881"],
                            "description": ["Cataract removal with lens", "Inguinal hernia repair", "Knee arthroscopy"]})
    index = CptDescriptionIndex(catalog, WordEmbedder())
    note = "OPERATION: open inguinal hernia repair on the left\nshort\nHistory: cataract surgery years ago"
    assert [c for c, _ in index.candidates(note, 2)] == ["49505", "66984"]
    assert index.candidates("short", 2) == []  # lines under 12 characters are headings
    block = hint_block([], index.candidates(note, 1))
    assert block.endswith("CPT codes whose descriptions are closest to lines of this report:\n"
                          "49505: Inguinal hernia repair")
    table = code_hints(pd.DataFrame([chart("Q", note, [])]), TRAIN, index, k_cpt=1)
    assert table.hints[0] == block


def test_knn_lexicon_reference_swaps_in_the_lexicons_codes():
    from claimbench.predict.run import lexicon_claims

    queries = pd.DataFrame([chart("Q1", "Known hyperlipidemia; nuclear cataract OS", [])])
    claims = lexicon_claims({"Q1": ["T3", "T2"]}, TRAIN, queries)
    nearest = Claim.from_record(TRAIN.iloc[2].to_dict())
    assert claims == {"Q1": [render_claim(Claim(icd10=("E78.5", "H25.10"), cpt_lines=nearest.cpt_lines))]}


# Laterality (claimbench.laterality): a left note gets the left codes, and the block says so.
SIDED = pd.DataFrame([
    chart("S1", "Dx: trigger thumb. Procedure: A1 pulley release, right.", [("M65.311", "trigger thumb")]),
    chart("S2", "Dx: trigger thumb, right-sided. PMH: hypertension.", [("M65.311", "trigger thumb"),
                                                                      ("I10", "hypertension")]),
])


def test_side_hints_move_codes_to_the_notes_side_and_state_it():
    query = pd.DataFrame([{**chart("Q", "Left trigger thumb; hypertension. The left thumb was prepped.", []),
                           "fiscal_year": 2024}])
    table = code_hints(query, SIDED, sides=True)
    # M65.312 is in no training claim: it is the code set's left counterpart of M65.311
    assert table.hints[0] == hint_block([("trigger thumb", ["M65.312"]), ("hypertension", ["I10"])],
                                        show_side=True, side="L")
    assert table.hints[0].endswith("\nOperative side documented in this report: left (LT)")
    plain = code_hints(query, SIDED)
    assert plain.hints[0] == hint_block([("trigger thumb", ["M65.311"]), ("hypertension", ["I10"])])
    unsided = code_hints(query.assign(op_note="trigger thumb"), SIDED, sides=True)
    assert unsided.hints[0].endswith("\ntrigger thumb: M65.311\nOperative side documented in this report: not stated")


def test_knn_lexicon_reference_with_sides_moves_codes_and_side_modifiers():
    from claimbench.predict.run import lexicon_claims

    train = SIDED.copy()
    train["cpt_lines"] = [[{"provider": "Dr. X", "cpt": "26055", "modifiers": ["RT"], "description": "release"}]] * 2
    query = pd.DataFrame([{**chart("Q", "Trigger thumb of the left hand (left-sided).", []), "fiscal_year": 2024}])
    claims = lexicon_claims({"Q": ["S1"]}, train, query, sides=True)
    expected = Claim(icd10=("M65.312",), cpt_lines=(CptLine("Dr. X", "26055", ("LT",), "release"),))
    assert claims == {"Q": [render_claim(expected)]}
    assert lexicon_claims({"Q": ["S1"]}, train, query)["Q"][0].count("RT") == 1  # sides off: as the nearest claim


def test_lexical_neighbours_share_words_and_never_the_note_itself():
    from claimbench.lexicon import LexicalNeighbours

    ids = ["A", "B", "C"]
    notes = ["Open inguinal hernia repair with mesh.", "Left total knee arthroplasty.",
             "Laparoscopic inguinal hernia repair."]
    index = LexicalNeighbours(ids, notes)
    assert index.nearest(["Q"], ["Recurrent hernia: open inguinal hernia repair with mesh."], 2) == [["A", "C"]]
    assert index.nearest(["A"], [notes[0]], 1) == [["C"]]  # a training note is never its own neighbour


def test_lexical_neighbours_replace_the_embedding_ones_in_the_prompt_and_knn_lexicon(tmp_path):
    from claimbench.predict.run import hint_neighbours, lexicon_claims

    queries = pd.DataFrame([chart("Q1", "Dx: age-related nuclear cataract, OS. Hx: hypertension.", [])])
    table = code_hints(queries, TRAIN, lexical_k=2)
    assert table.neighbours[0] == ["T3", "T2"]  # T3 shares the most words
    table.to_parquet(tmp_path / "hints.parquet")
    embedding = {"Q1": ["T4", "T1"]}
    assert hint_neighbours(tmp_path / "hints.parquet", embedding) == {"Q1": ["T3", "T2"]}
    assert hint_neighbours(tmp_path / "hints.parquet", {"Q1": ["T4"]}) == {"Q1": ["T3"]}  # as many as asked
    shown = prompt_examples("rag_lexicon", embedding, TRAIN, tmp_path / "hints.parquet")
    assert shown["Q1"] == [*example_claims({"Q1": ["T3", "T2"]}, TRAIN)["Q1"], table.hints[0]]
    assert prompt_examples("rag", embedding, TRAIN) == example_claims(embedding, TRAIN)  # the paper's rag: unchanged
    code_hints(queries, TRAIN).to_parquet(tmp_path / "plain.parquet")  # without lexical_k: the embedding ones
    assert hint_neighbours(tmp_path / "plain.parquet", embedding) == embedding
    nearest = hint_neighbours(tmp_path / "hints.parquet", {"Q1": ["T4"]})
    assert lexicon_claims(nearest, TRAIN, queries)["Q1"][0].count("66984") == 1


def test_a_hint_file_may_list_lexical_neighbours_for_some_notes_only(tmp_path):
    """rule finetune_code_hints: training notes with the embedding neighbours (retrieval.training_hint_neighbours),
    validation notes with the lexical ones (retrieval.hint_neighbours), in one file."""
    from claimbench.predict.run import hint_neighbours

    training = pd.DataFrame([chart("T9", "Age-related nuclear cataract, right eye.", [])])
    validation = pd.DataFrame([chart("Q1", "Dx: age-related nuclear cataract, OS. Hx: hypertension.", [])])
    table = pd.concat([code_hints(training, TRAIN, lexical_k=0), code_hints(validation, TRAIN, lexical_k=2)],
                      ignore_index=True)
    table.to_parquet(tmp_path / "hints.parquet")
    embedding = {"T9": ["T1", "T2"], "Q1": ["T4", "T1"]}
    assert hint_neighbours(tmp_path / "hints.parquet", embedding) == {"T9": ["T1", "T2"], "Q1": ["T3", "T2"]}


def test_lexical_neighbour_count_follows_each_prompt_setting():
    from claimbench.plan.predict import lexical_neighbour_count

    retrieval = {"k": 3, "hint_neighbours": "lexical", "training_hint_neighbours": "embedding"}
    assert lexical_neighbour_count(retrieval, "hint_neighbours") == 3
    assert lexical_neighbour_count(retrieval, "training_hint_neighbours") == 0
    assert lexical_neighbour_count({}, "training_hint_neighbours") == 0  # the paper's retrieval unless asked
