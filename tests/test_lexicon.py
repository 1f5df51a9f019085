"""The training split's code lexicon and the rag_lexicon prompt (beyond the paper: ft-mini+lexicon)."""

import pandas as pd
import pytest

from claimbench.claim import Claim, CptLine, render_claim
from claimbench.lexicon import CodeLexicon, CptDescriptionIndex, code_hints, hint_block, normalize_phrase
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
    assert LEXICON.best_codes(note) == ["I10", "E78.5", "H25.12"]
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
