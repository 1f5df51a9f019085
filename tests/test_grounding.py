"""Description-grounded coding (claimbench.grounding): the code-set index, the resolver, the description task, the
no-LM reference and the copying measure. A bag-of-words stand-in replaces all-MiniLM-L6-v2, so the tests check the
logic (validity per year, each description embedded once, the answer read back and resolved), not the model."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from claimbench.claim import Claim, CptLine, render_claim
from claimbench.grounding.codeset_index import (
    CodeSet,
    cpt_codeset,
    embed_rows,
    icd10cm_codeset,
    load_codesets,
    run_years,
    save_codesets,
    years_needed,
)
from claimbench.grounding.copying import copy_table, names_operation
from claimbench.grounding.describe import ground_answer, parse_descriptions, render_descriptions, ProcedureLine
from claimbench.grounding.reference import Setting, note_lines, reference_claims, surgeon
from claimbench.grounding.resolve import Candidate, Resolver


class WordEmbedder:
    """Bag of words hashed into 256 dimensions; counts what it was asked to embed."""

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False):
        self.seen += list(texts)
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in str(text).lower().replace(",", " ").split():
                out[i, zlib.crc32(word.encode()) % 256] += 1.0
        return out


def toy_codeset() -> CodeSet:
    codes = ["H25.11", "H25.12", "H25.9", "E11.9"]
    texts = ["Age-related nuclear cataract, right eye", "Age-related nuclear cataract, left eye",
             "Unspecified age-related cataract", "Type 2 diabetes mellitus without complications"]
    valid = np.array([[True, True, True, True], [True, True, False, True]])  # H25.9 gone in the second year
    return CodeSet("icd10cm", codes, texts, [2023, 2024], valid)


def test_icd10cm_index_has_one_row_per_distinct_pair_and_a_mask_per_fiscal_year():
    from claimbench.codesets import icd10cm_descriptions

    index = icd10cm_codeset([2024, 2023])
    assert index.years == [2023, 2024]
    for j, year in enumerate(index.years):
        valid = {(index.codes[i], index.texts[i]) for i in np.flatnonzero(index.valid[j])}
        assert valid == set(icd10cm_descriptions(year).items())
    assert len(set(zip(index.codes, index.texts))) == len(index.codes)


def test_cpt_index_masks_follow_the_catalog_years():
    from claimbench.codesets import cpt_codes

    index = cpt_codeset([2019, 2024])
    for year in (2019, 2024):
        assert {index.codes[i] for i in np.flatnonzero(index.mask(year))} == cpt_codes(year)
    with pytest.raises(KeyError, match="holds no year 2030"):
        index.mask(2030)


def test_years_of_encounters_and_of_a_run():
    frame = pd.DataFrame({"surgery_date": ["2022-10-03", "2022-09-30"], "fiscal_year": [2023, 2022]})
    assert years_needed(frame) == {"icd10cm": [2022, 2023], "cpt": [2022]}
    years = run_years()
    assert years["icd10cm"][0] == 2019 and years["cpt"][0] == 2018 and years["cpt"][-1] == years["icd10cm"][-1]


def test_each_description_is_embedded_once_and_the_index_round_trips(tmp_path):
    index = toy_codeset()
    index.texts[3] = index.texts[0]  # two codes sharing one description
    index = CodeSet(index.system, index.codes, index.texts, index.years, index.valid)
    embedder = WordEmbedder()
    assert embed_rows(index, [0, 3, 1], embedder) == 2
    assert embed_rows(index, None, embedder) == 1  # only H25.9's description was left
    assert len(embedder.seen) == 3
    save_codesets(tmp_path / "index.npz", {"icd10cm": index})
    loaded = load_codesets(tmp_path / "index.npz")["icd10cm"]
    assert loaded.codes == index.codes and loaded.years == index.years
    assert np.array_equal(loaded.valid, index.valid) and np.allclose(loaded.vectors, index.vectors)


@pytest.mark.parametrize("shortlist", [None, 2])
def test_resolver_ranks_only_codes_valid_in_the_year(shortlist):
    resolver = Resolver(toy_codeset(), WordEmbedder(), shortlist=shortlist)
    ranked = resolver.rank([["nuclear cataract of the left eye"], ["unspecified cataract"], []], 2024, k=3)
    assert ranked[0][0].code == "H25.12"
    assert all(c.code != "H25.9" for query in ranked for c in query)  # not valid in FY2024
    assert ranked[2] == []
    assert resolver.rank([["unspecified cataract"]], 2023, k=1)[0][0].code == "H25.9"


def test_shortlist_embeds_only_the_shortlisted_descriptions():
    embedder = WordEmbedder()
    resolver = Resolver(toy_codeset(), embedder, shortlist=1)
    resolver.rank([["diabetes mellitus"]], 2024, k=1)
    assert "Type 2 diabetes mellitus without complications" in embedder.seen
    assert not any("cataract" in text for text in embedder.seen)


def test_description_answer_round_trips_and_resolves_to_the_papers_layout():
    answer = render_descriptions(["Age-related nuclear cataract, right eye"],
                                 [ProcedureLine("Doe, Ann MD", "Cataract removal with lens implant", ("RT",))])
    parsed = parse_descriptions(answer)
    assert parsed.diagnoses == ["Age-related nuclear cataract, right eye"]
    assert parsed.procedures == [ProcedureLine("Doe, Ann MD", "Cataract removal with lens implant", ("RT",))]

    def rank(system, queries, year, k):
        code = "H25.11" if system == "icd10cm" else "66984"
        return [[Candidate(code, "described", 0.9)] for _ in queries]

    claim, trail = ground_answer(answer, 2024, 2024, rank)
    assert claim == Claim(("H25.11",), (CptLine("Doe, Ann MD", "66984", ("RT",), "described"),))
    assert [step["chosen"] for step in trail] == ["H25.11", "66984"]
    assert "66984 | Modifiers: RT" in render_claim(claim)


@pytest.mark.parametrize("answer", [None, "", "ICD: H25.11", "Procedures:\n| Modifiers: ZZZ, 5", b"\xff\x00",
                                    "Diagnoses:\n" + "x" * 10_000])
def test_malformed_answers_give_a_claim_never_an_error(answer):
    claim, _ = ground_answer(answer, 2024, 2024, lambda system, queries, year, k: [[] for _ in queries])
    assert claim.cpt_lines == ()


def test_reference_keeps_the_best_code_then_those_above_the_threshold():
    ranked = [Candidate("A", "", 0.5), Candidate("B", "", 0.8), Candidate("C", "", 0.79)]
    assert [c.code for c in Setting(0.8, 3).keep(ranked)] == ["A", "B"]
    assert [c.code for c in Setting(0.1, 2).keep(ranked)] == ["A", "B"]


def test_reference_claim_takes_the_notes_side_and_surgeon():
    note = "ATTENDING SURGEON: Doe, Ann MD\nProcedure: left cataract extraction.\nThe left eye was prepped."
    assert surgeon(note) == "Doe, Ann MD"
    assert "Procedure: left cataract extraction." in note_lines(note)
    cases = pd.DataFrame({"encounter_id": ["e1"], "surgery_date": ["2024-03-01"], "fiscal_year": [2024],
                          "op_note": [note]})
    ranked = {"icd10cm": [[Candidate("H25.11", "", 0.9)]], "cpt": [[Candidate("66984", "Cataract removal", 0.9)]]}
    claim = reference_claims(cases, ranked, {"icd10cm": Setting(0.5, 1), "cpt": Setting(0.5, 1)})[0]
    assert claim.icd10 == ("H25.12",)  # moved to the side the note documents
    assert claim.cpt_lines == (CptLine("Doe, Ann MD", "66984", ("LT",), "Cataract removal"),)  # 66984 is paired


def test_copying_counts_copies_and_whether_the_copied_claim_was_right():
    line = lambda code: {"provider": "P", "cpt": code, "modifiers": [], "description": ""}  # noqa: E731
    train = pd.DataFrame({"encounter_id": ["t1", "t2"], "cpt_lines": [[line("66984")], [line("27447")]]})
    cases = pd.DataFrame({"encounter_id": ["c1", "c2"], "cpt_lines": [[line("66984")], [line("27446")]]})
    claim = lambda code: render_claim(Claim((), (CptLine("P", code, (), "Knee replacement"),)))  # noqa: E731
    answers = {"copier": [{"encounter_id": "c1", "generated_text": claim("66984")},
                          {"encounter_id": "c2", "generated_text": claim("27447")}]}
    row = copy_table(answers, cases, {"c1": "t1", "c2": "t2"}, train,
                     resolve_cpt=lambda descriptions, eid: ["27447"])[0]
    assert (row["cpt_copied"], row["copied_and_right"], row["copied_cases"]) == (2, 1, ["c1", "c2"])
    assert (row["answers_describing"], row["names_operation"]) == (2, 1)  # 274xx is c2's family, not c1's
    assert names_operation(["66982"], {"66984"}) and not names_operation(["27447"], {"66984"})


def test_grounded_configurations_read_the_index_and_the_reference_its_validation_choice():
    from claimbench.plan.predict import predict_inputs, resolve

    config = {"configurations": {"grounded": {"method": "grounded"},
                                 "ft-mini+describe": {"method": "qlora", "model": "m", "prompt": "describe"}},
              "models": {"m": {}}, "predict": {}, "grounding": {"shortlist": 8}, "retrieval": {}}
    reference = predict_inputs(config, "grounded", lambda m: m)
    assert reference["codeset_index"].endswith("codeset_index.npz")
    assert reference["reference_choice"].endswith("reference_choice/grounded.json")
    assert "codeset_index" in predict_inputs(config, "ft-mini+describe", lambda m: m)
    assert resolve(config, "ft-mini+describe")["grounding"]["shortlist"] == 8


def test_describe_configuration_trains_and_predicts_with_the_describe_task():
    """Fine-tuning and generation take the description task from the plan's settings (claimbench.task.task_of)."""
    from claimbench.grounding.describe import DescribeTask
    from claimbench.plan.finetune import finetune_job
    from claimbench.plan.predict import resolve
    from claimbench.task import task_of

    codesets = {"cpt_catalog": "catalog.csv"}
    config = {"configurations": {"ft-mini+describe": {"method": "qlora", "model": "m", "prompt": "describe"}},
              "models": {"m": {}}, "predict": {}, "retrieval": {}, "codesets": codesets, "seed": 1}
    for settings in (finetune_job(config, "ft-mini+describe", "models/m"), resolve(config, "ft-mini+describe")):
        task = task_of(settings)
        assert task == DescribeTask(codesets) and task.kind == "describe" and not task.shows_examples


def test_model_choice_scores_candidates_in_place_and_agrees_with_a_full_forward(tmp_path):
    """The chooser's cached, cut-back scoring equals scoring each candidate with the whole text in one forward."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from claimbench.grounding.choice import ModelChooser
    from claimbench.models.tiny import build_tiny

    torch.set_num_threads(1)
    folder = build_tiny("llama", tmp_path / "llama", seed=7)
    model, tokenizer = AutoModelForCausalLM.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)
    prompt, answer = "Operative report: left cataract.\n", "Diagnoses:\n- cataract of the left eye\nProcedures:\n"
    candidates = [Candidate("H25.11", "cataract right eye", 0.9), Candidate("H25.12", "cataract left eye", 0.8)]

    def full_score(text):
        context = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        context += tokenizer("Diagnoses:\n- ", add_special_tokens=False)["input_ids"]
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([context + ids])).logits[0]
        logp = torch.log_softmax(logits[len(context) - 1:-1], dim=-1)
        return float(logp[torch.arange(len(ids)), torch.tensor(ids)].mean())

    chooser = ModelChooser(model, tokenizer, prompt, answer)
    picked = chooser("icd10cm", "cataract of the left eye", candidates)
    expected = max(candidates, key=lambda c: full_score(c.description))
    assert picked == expected
    assert chooser.fed == answer.index("\nProcedures")


def test_note_choice_takes_the_candidate_the_note_supports():
    from claimbench.grounding.choice import NoteChooser

    resolvers = {"icd10cm": Resolver(toy_codeset(), WordEmbedder(), shortlist=None)}
    ranked = resolvers["icd10cm"].rank([["nuclear cataract"]], 2024, k=2)[0]
    note = "Indication: nuclear cataract, left eye, affecting reading.\nThe left eye was prepped and draped."
    assert {c.code for c in ranked} == {"H25.11", "H25.12"}
    assert NoteChooser(resolvers, note)("icd10cm", "nuclear cataract", ranked).code == "H25.12"
    assert NoteChooser(resolvers, "")("icd10cm", "nuclear cataract", ranked) == ranked[0]
