"""Claim parsing: the paper's formats, model variations, and the never-raise / never-fix properties."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from claimbench.claim import PHI3_SEGMENT_TOKENS, Claim, CptLine, render_claim
from claimbench.evaluation.parse import (
    CPT_SHAPE,
    MODIFIER_SHAPE,
    ParsedClaim,
    ParsedLine,
    normalize_icd10,
    parse_claim,
)

CLAIM = Claim(
    icd10=("H25.11", "E11.9"),
    cpt_lines=(
        CptLine("Dr A", "66984", ("RT",), "Cataract removal with lens, 1 stage"),
        CptLine("Dr A", "67028", ("RT", "59"), "Eye injection"),
        CptLine("PA B", "66984", ("80", "RT"), "Assistant"),
    ),
)
EXPECTED_LINES = (
    ParsedLine("66984", ("RT",), "Dr A"),
    ParsedLine("67028", ("RT", "59"), "Dr A"),
    ParsedLine("66984", ("80", "RT"), "PA B"),
)


def test_training_format_with_phi3_segment_tokens():
    parsed = parse_claim(render_claim(CLAIM, PHI3_SEGMENT_TOKENS))
    assert parsed.icd10 == ("H25.11", "E11.9")
    assert parsed.cpt_lines == EXPECTED_LINES
    assert parsed.has_icd_section and parsed.has_cpt_section


def test_training_format_plain_and_as_generated_after_the_placeholder2_prefix():
    text = render_claim(CLAIM)
    assert parse_claim(text).cpt_lines == EXPECTED_LINES
    # The fine-tuned prompt ends with <|placeholder2|>: the generation starts at the heading and ends with <|end|>.
    generated = render_claim(CLAIM, PHI3_SEGMENT_TOKENS).removeprefix("<|placeholder2|>") + "<|end|>"
    assert parse_claim(generated).icd10 == ("H25.11", "E11.9")
    assert parse_claim(generated).cpt_lines == EXPECTED_LINES


def test_rag_prompt_format_numbered_cpt_code_lines_without_descriptions():
    text = (
        "ICD-10-CM Diagnoses:\nM17.11, Z96.652\n\nCPT Codes with Modifiers:\n"
        "CPT Code 1: 27447 | Modifiers: RT\nCPT Code 2: 20985 | Modifiers: \n"
    )
    parsed = parse_claim(text)
    assert parsed.icd10 == ("M17.11", "Z96.652")
    assert parsed.cpt_lines == (ParsedLine("27447", ("RT",)), ParsedLine("20985", ()))


def test_base_prompt_format_with_description_wrapped_on_next_line_as_printed_in_the_paper():
    text = (
        "ICD-10-CM Diagnoses:\nK40.90\n\nCPT Codes with Modifiers:\n"
        "CPT Code 1: 49505 | Modifiers: RT | Description:\nRepair of inguinal hernia, age 5 years or older 12345\n"
        "CPT Code 2: 49568\n| Modifiers: 51, 59\n"
    )
    parsed = parse_claim(text)
    assert parsed.icd10 == ("K40.90",)
    # the wrapped description is not a CPT line; the wrapped Modifiers field continues CPT Code 2
    assert parsed.cpt_lines == (ParsedLine("49505", ("RT",)), ParsedLine("49568", ("51", "59")))


def test_echoed_format_instruction_yields_no_codes():
    text = (
        "ICD-10-CM Diagnoses:\nXXX.XXX, XXX.XXX, ...\n\nCPT Codes with Modifiers:\n"
        "CPT Code 1: ##### | Modifiers: XX, XX, ... | Description: ...\n"
    )
    parsed = parse_claim(text)
    assert parsed == ParsedClaim(has_icd_section=True, has_cpt_section=True)


def test_markdown_bullets_suffix_modifiers_lists_and_cpt_named_lines():
    text = (
        "**ICD-10 Codes:**\n- h2511 (Age-related nuclear cataract)\n- E11.9\n\n"
        "## CPT Codes\n* 66984-RT: cataract surgery\n* 67028 -LT - 59, 0191T\n"
        "CPT code 66982: complex cataract\n**CPT 4:** 99999 | Modifier: lt (left eye)\n"
    )
    parsed = parse_claim(text)
    assert parsed.icd10 == ("H25.11", "E11.9")
    assert parsed.cpt_lines == (
        ParsedLine("66984", ("RT",)),
        ParsedLine("67028", ("LT", "59")),
        ParsedLine("0191T", ()),
        ParsedLine("66982", ()),
        ParsedLine("99999", ("LT",)),
    )


def test_chat_model_markdown_numbered_lists_and_tables():
    text = (
        "Here is the claim:\n\n**ICD-10-CM Diagnoses:**\n1. H25.11 – Age-related nuclear cataract, right eye\n"
        "2. E11.9 – Type 2 diabetes mellitus\n\n**CPT Codes with Modifiers:**\n"
        "1. **CPT Code 66984** | Modifiers: RT | Description: Cataract removal\n"
        "2. CPT Code: 67028 (Modifier: LT)\n\n"
        "| CPT Code | Modifiers | Description |\n|---|---|---|\n| **27447** | RT, 59 | Knee arthroplasty 12345 |\n"
        "| 29881-LT | None | Meniscectomy |\n| 11042 | Debridement | - |\n"
    )
    parsed = parse_claim(text)
    assert parsed.icd10 == ("H25.11", "E11.9")
    assert parsed.cpt_lines == (
        ParsedLine("66984", ("RT",)),
        ParsedLine("67028", ("LT",)),
        ParsedLine("27447", ("RT", "59")),
        ParsedLine("29881", ("LT",)),
        ParsedLine("11042", ()),
    )


def test_modifier_field_words_are_not_modifiers_but_upper_case_AS_is():
    text = "CPT Codes:\nCPT 1: 27447 | Modifiers: no modifiers, as needed\nCPT 2: 27447 | Modifiers: AS, N/A, none\n"
    assert parse_claim(text).cpt_lines == (ParsedLine("27447", ()), ParsedLine("27447", ("AS",)))


def test_codes_outside_their_section_are_not_read():
    # prose with code-shaped text and no claim format: unparseable, so nothing (scored as wrong)
    text = "The patient (H25.11) had surgery 66984 on the right eye. Diabetes E11.9 noted."
    assert parse_claim(text) == ParsedClaim()
    # ICD codes in the CPT section are not ICD codes; CPT-shaped numbers in the ICD section are not CPT lines
    text = "ICD-10-CM Diagnoses:\nH25.11, 66984\nCPT Codes:\nCPT 1: 66984\nE11.9\n"
    parsed = parse_claim(text)
    assert parsed.icd10 == ("H25.11",)
    assert parsed.cpt_codes == ("66984",)


def test_malformed_tokens_are_never_fixed_into_codes():
    text = "ICD-10-CM Diagnoses:\nH25.11234, H2, 25.11, HH5.1, E11.9\nCPT Codes:\n669841 | Modifiers: RT\n6698\nCPT 1: 66984\n"
    parsed = parse_claim(text)
    assert parsed.icd10 == ("E11.9",)  # no truncation of H25.11234, no padding of H2
    assert parsed.cpt_codes == ("66984",)
    assert normalize_icd10("h25.") == "H25"
    assert normalize_icd10("E119") == "E11.9"
    assert normalize_icd10("E11.9.1") is None


def test_duplicates_and_order_are_kept_as_generated():
    text = "ICD-10-CM Diagnoses:\nE11.9, H25.11, E11.9\nCPT Codes:\nCPT 1: 66984 | Modifiers: RT, RT\nCPT 2: 66984\n"
    parsed = parse_claim(text)
    assert parsed.icd10 == ("E11.9", "H25.11", "E11.9")
    assert parsed.cpt_lines == (ParsedLine("66984", ("RT",)), ParsedLine("66984", ()))


def test_non_text_inputs():
    assert parse_claim(None) == ParsedClaim()
    assert parse_claim(float("nan")) == ParsedClaim()
    assert parse_claim(b"ICD-10-CM Diagnoses: I10\xff").icd10 == ("I10",)
    assert parse_claim(12345) == ParsedClaim()


def test_adversarial_long_inputs_finish():
    # patterns that make naive regexes backtrack exponentially or quadratically
    for text in (
        "-" * 50_000 + "x",
        "CPT " * 20_000,
        "ICD-10-CM " + "a " * 30_000,
        "CPT Codes:\n" + "66984-" * 20_000,
        "Modifiers:" * 20_000,
        "<|" * 30_000,
        "ICD-10-CM Diagnoses:\n" + "A1.1." * 20_000,
        "CPT Codes:\n" + "| 66984 " * 20_000 + "| RT " * 20_000,
        "CPT Codes:\n| 66984 | " + "aa " * 30_000 + "x |",
        "1. " * 30_000,
    ):
        assert isinstance(parse_claim(text), ParsedClaim)


# ----- properties ---------------------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "ICD-10-CM Diagnoses:", "CPT Codes with Modifiers:", "Provider Name:", "Provider Billables:", "CPT 1:",
        "CPT Code 2:", "| Modifiers:", "| Description:", "<|placeholder2|>", "<|end|>", "<s>", "**", "- ", "#",
        "\n", "\n\n", " ", ",", "|", ":", "-", "(", ")", "H25.11", "e119", "66984", "0191T", "RT", "59", "as",
        "XXX.XXX", "#####", "1.", "\t", "\r\n", "\x00", "é", "𝟘", "6698", "669841", "| ", " |", "---", "None",
    ]
)
ADVERSARIAL = st.lists(FRAGMENTS | st.text(max_size=8), max_size=60).map("".join)


def _well_formed(parsed: ParsedClaim) -> bool:
    return (
        all(re.fullmatch(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?", code) for code in parsed.icd10)
        and all(CPT_SHAPE.fullmatch(line.cpt) for line in parsed.cpt_lines)
        and all(MODIFIER_SHAPE.fullmatch(mod) for line in parsed.cpt_lines for mod in line.modifiers)
    )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400) | ADVERSARIAL)
def test_never_raises_and_yields_only_code_shaped_codes(text):
    parsed = parse_claim(text)
    assert isinstance(parsed, ParsedClaim)
    assert _well_formed(parsed)
    # every code comes from the text (up to case and the ICD dot): nothing invented
    squashed = re.sub(r"[^0-9A-Z]", "", text.upper())
    assert all(code.replace(".", "") in squashed for code in parsed.icd10 + parsed.cpt_codes)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_never_raises_on_bytes(data):
    assert isinstance(parse_claim(data), ParsedClaim)


ICD = st.from_regex(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?", fullmatch=True)
CPT = st.from_regex(r"[0-9]{4}[0-9A-Z]", fullmatch=True)
MODIFIER = st.from_regex(r"[0-9A-Z]{2}", fullmatch=True)
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.-", max_size=40)
LINE = st.builds(
    CptLine,
    provider=st.sampled_from(["Dr Ann Lee", "PA Bo", "Jones, MD"]),
    cpt=CPT,
    modifiers=st.lists(MODIFIER, max_size=3, unique=True).map(tuple),
    description=WORDS,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(ICD, max_size=6), st.lists(LINE, max_size=6), st.booleans())
def test_round_trip_of_the_training_format(icd10, lines, segmented):
    claim = Claim(icd10=tuple(icd10), cpt_lines=tuple(lines))
    parsed = parse_claim(render_claim(claim, PHI3_SEGMENT_TOKENS if segmented else None))
    assert parsed.icd10 == tuple(icd10)
    # render_claim groups lines by provider, in order of first appearance
    grouped = [line for provider in claim.providers for line in lines if line.provider == provider]
    assert parsed.cpt_lines == tuple(ParsedLine(line.cpt, line.modifiers, line.provider) for line in grouped)
