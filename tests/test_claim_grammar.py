"""Grammar-constrained decoding (beyond the paper): the claim grammar's language, and constrained generation with a
tiny random model (the hardest case: nothing but the grammar makes it write a claim)."""

import pytest

torch = pytest.importorskip("torch")
xgr = pytest.importorskip("xgrammar")

from claimbench.claim import Claim, CptLine, render_claim  # noqa: E402
from claimbench.codesets import fiscal_year  # noqa: E402
from claimbench.evaluation.parse import parse_claim  # noqa: E402
from claimbench.evaluation.validity import ReferenceSets  # noqa: E402
from claimbench.models.claim_grammar import (  # noqa: E402
    ClaimGrammars,
    GrammarLimits,
    _trie_rules,
    claim_ebnf,
    tokenizer_info,
)
from claimbench.models.generation import GenerationSettings, generate, stop_token_ids  # noqa: E402
from claimbench.models.loading import load_for_inference  # noqa: E402
from claimbench.models.tiny import build_tiny  # noqa: E402
from claimbench.prompts import build_prompt  # noqa: E402

# Short free text and few repetitions: each character of a bound is a grammar position, so these compile in ~1 s.
LIMITS = GrammarLimits(max_icd10=4, max_providers=2, max_lines=3, max_modifiers=2, max_name_chars=16,
                       max_description_chars=24)
REFS = ReferenceSets()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.set_num_threads(1)
    model, tokenizer = load_for_inference(build_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama", seed=5))
    info = tokenizer_info(tokenizer, model.get_output_embeddings().weight.shape[0], stop_token_ids(model, tokenizer))
    return model, tokenizer, info


def accepts(compiled, text: str, stop: int) -> bool:
    """Whether the grammar accepts ``text`` as a whole claim (then the stop token ends it)."""
    matcher = xgr.GrammarMatcher(compiled)
    return matcher.accept_string(text) and matcher.accept_token(stop) and matcher.is_terminated()


def test_prefix_automaton_shares_identical_subtrees_and_keeps_the_language(tiny):
    _, tokenizer, info = tiny
    codes = ["S01.01XA", "S01.01XD", "S01.02XA", "S01.02XD", "E11.9", "E11"]
    root, rules = _trie_rules("c", codes)
    assert sum("XA" in r or '"A" | "D"' in r for r in rules) == 1  # the A/D ending is one rule for both codes
    compiled = xgr.GrammarCompiler(info).compile_grammar("\n".join([f"root ::= {root}", *rules]))
    stop = tokenizer.eos_token_id
    for code in codes:
        assert accepts(compiled, code, stop), code
    for wrong in ["S01.01X", "S01.03XA", "E11.", "E1", "S01.01XAA", ""]:
        assert not accepts(compiled, wrong, stop), wrong
    with pytest.raises(ValueError, match="no valid code"):
        _trie_rules("c", [])


def test_grammar_is_the_render_claim_layout_with_the_fiscal_years_codes(tiny):
    _, tokenizer, info = tiny
    stop = tokenizer.eos_token_id
    fy2021 = ClaimGrammars(info, REFS, LIMITS).for_case(2021, 2021)
    claim = Claim(
        ("H25.11", "E11.9"),
        (CptLine("Doe, Jane MD", "66984", ("RT",), "Cataract removal, right"),
         CptLine("Doe, Jane MD", "67028", (), "Injection into the eye"),
         CptLine("Roe, Rick MD", "66984", ("80", "RT"), "Assistant at surgery")),
    )
    assert accepts(fy2021, render_claim(claim), stop)
    only_2022 = sorted(REFS.icd10cm(2022) - REFS.icd10cm(2021))[0]  # a code added in FY2022
    not_yet = Claim((only_2022,), claim.cpt_lines[:1])
    assert not accepts(fy2021, render_claim(not_yet), stop)
    assert accepts(ClaimGrammars(info, REFS, LIMITS).for_case(2022, 2021), render_claim(not_yet), stop)
    fabricated = [
        Claim(("E11",), claim.cpt_lines[:1]),  # a category header, not billable
        Claim(("H25.11",), (CptLine("Doe, Jane MD", "66985", ("RT",), "x"),)),  # not in the CPT catalog
        Claim(("H25.11",), (CptLine("Doe, Jane MD", "66984", ("ZZ",), "x"),)),  # not a modifier
        Claim((), claim.cpt_lines[:1]),  # no diagnosis
        Claim(("H25.11",), ()),  # no CPT line
        Claim(("H25.11",), (CptLine("Doe, Jane MD", "66984", (), "y" * 25),)),  # description over the bound
        Claim(("H25.11",) * 5, claim.cpt_lines[:1]),  # more codes than max_icd10
    ]
    for bad in fabricated:
        assert not accepts(fy2021, render_claim(bad), stop), bad
    assert not accepts(fy2021, render_claim(claim).replace("CPT 2:", "CPT 3:"), stop)  # lines numbered 1, 2, ...


def test_grammars_are_compiled_once_per_fiscal_year_and_cpt_set(tiny):
    _, _, info = tiny
    grammars = ClaimGrammars(info, REFS, LIMITS)
    compiled = grammars.for_cases([2021, 2021, 2022, 2021], [2021, 2020, 2022, 2021])
    assert compiled[0] is compiled[1] is compiled[3] and compiled[2] is not compiled[0]
    assert [t["fiscal_year"] for t in grammars.timings] == [2021, 2022]  # one build per (FY, CPT set)
    again = ClaimGrammars(info, REFS, LIMITS)  # another run in the same process finds them compiled
    assert again.for_case(2021, 2021) is compiled[0] and again.timings[0]["source"] == "in process"


NOTES = [
    ("2021-03-02", "Cataract, right eye. Phacoemulsification with intraocular lens."),
    ("2021-10-20", "Left inguinal hernia repaired with mesh under general anesthesia."),  # FY2022
    ("2022-05-11", "Laparoscopic cholecystectomy for symptomatic gallstones."),
    ("2021-07-30", "Excision of a 2 cm lipoma of the back with layered closure."),
]


@pytest.mark.parametrize("continuous", [True, False])
def test_constrained_random_model_writes_parseable_claims_with_only_valid_codes(tiny, continuous):
    model, tokenizer, info = tiny
    grammars = ClaimGrammars(info, REFS, LIMITS)
    fiscal_years = [fiscal_year(date) for date, _ in NOTES]
    years = [int(date[:4]) for date, _ in NOTES]
    prompts = [build_prompt("base", note, family="chat_template", tokenizer=tokenizer) for _, note in NOTES]
    # 200 tokens hold a claim up to its first CPT code even written one character a token (LIMITS: ~150 characters).
    settings = GenerationSettings(max_new_tokens=200, batch_size=3)
    out = sorted((r for batch in generate(model, tokenizer, prompts, settings, progress=False, continuous=continuous,
                                          grammars=grammars.for_cases(fiscal_years, years)) for r in batch),
                 key=lambda r: r.index)
    free = sorted((r for batch in generate(model, tokenizer, prompts, settings, progress=False, continuous=continuous)
                   for r in batch), key=lambda r: r.index)
    assert not any(parse_claim(r.text).icd10 for r in free)  # unconstrained, the random model writes no claim
    for result, fy, year in zip(out, fiscal_years, years):
        claim = parse_claim(result.text)
        assert claim.has_icd_section and claim.icd10 and claim.cpt_lines, result.text
        assert result.text.startswith("ICD-10-CM Diagnoses:\n\n")
        assert set(claim.icd10) <= REFS.icd10cm(fy), (fy, claim.icd10)
        assert set(claim.cpt_codes) <= REFS.cpt(year)
        assert {m for line in claim.cpt_lines for m in line.modifiers} <= REFS.modifiers
    if not continuous:  # both batching paths write the same constrained text
        again = sorted((r for batch in generate(model, tokenizer, prompts, settings, progress=False, continuous=True,
                                                grammars=grammars.for_cases(fiscal_years, years)) for r in batch),
                       key=lambda r: r.index)
        assert [r.text for r in again] == [r.text for r in out]


def test_one_grammar_per_prompt_is_required(tiny):
    model, tokenizer, info = tiny
    grammar = ClaimGrammars(info, REFS, LIMITS).for_case(2021, 2021)
    with pytest.raises(ValueError, match="one per prompt"):
        list(generate(model, tokenizer, ["a", "b"], GenerationSettings(max_new_tokens=2), progress=False,
                      grammars=[grammar]))


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="max_lines"):
        GrammarLimits(max_lines=0)
    assert "CPT 3: " not in claim_ebnf(["A00.0"], ["66984"], ["RT"], GrammarLimits(max_lines=2))


def _claim_record(icd10, lines):
    return {"icd10": icd10, "cpt_lines": [{"provider": p, "cpt": c, "modifiers": m, "description": d}
                                          for p, c, m, d in lines]}


def test_grammar_limits_from_the_training_claims():
    train = [
        _claim_record(["A00.0", "B01.1"], [("Dr Ann Lee", "66984", ["RT"], "Cataract removal"),
                                            ("Dr Ann Lee", "67036", ["RT", "51"], "Vitrectomy"),
                                            ("Dr Bo", "66984", ["80"], "Cataract removal")]),
        _claim_record(["C00.0", "D01.1", "E01.1"], [("Dr Cy", "47562", [], "Laparoscopic gallbladder removal")]),
    ]
    limits = GrammarLimits.from_settings({"from_training": True}, train)
    # 3 codes (2nd claim); 2 providers (1st); Dr Ann Lee has 2 lines; 2 modifiers (RT, 51); "Dr Ann Lee" = 10 chars;
    # "Laparoscopic gallbladder removal" = 32 chars
    assert limits == GrammarLimits(max_icd10=3, max_providers=2, max_lines=2, max_modifiers=2, max_name_chars=10,
                                   max_description_chars=32)
    # a bound given in config wins over the training split; without from_training the config is used as given
    assert GrammarLimits.from_settings({"from_training": True, "max_lines": 6}, train).max_lines == 6
    assert GrammarLimits.from_settings({"max_lines": 5}) == GrammarLimits(max_lines=5)
    # a training split whose claims have no modifiers still gives a usable (positive) bound
    assert GrammarLimits.from_settings({"from_training": True}, train[1:]).max_modifiers == 1
    with pytest.raises(ValueError, match="training split"):
        GrammarLimits.from_settings({"from_training": True}, [])


def test_with_grammar_limits_makes_the_bounds_concrete():
    import pandas as pd

    from claimbench.predict.run import with_grammar_limits

    train = pd.DataFrame([_claim_record(["A00.0"], [("Dr Bo", "66984", ["RT"], "Cataract removal")])])
    conf = with_grammar_limits({"constrained": "claim_grammar", "grammar": {"from_training": True}}, train)
    assert conf["grammar"] == {"max_icd10": 1, "max_providers": 1, "max_lines": 1, "max_modifiers": 1,
                               "max_name_chars": 5, "max_description_chars": 16}
    assert with_grammar_limits({"method": "rag"}, None) == {"method": "rag"}  # unconstrained: untouched
