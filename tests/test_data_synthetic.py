"""Invariants of the synthetic extract: every code valid for its year and linked to its evidence in the note,
discards counted, modifiers consistent with the lines, notes varied like dictation."""

import re

import numpy as np
import pytest

from claimbench import codesets
from claimbench.data.diagnostics import dataset_diagnostics
from claimbench.data.domains import domain_of
from claimbench.data.contract import validate_record
from claimbench.data.synthetic import DISCARD_REASONS, Policy, SyntheticSettings, generate_extract, order_modifiers

V1_MEDIAN_WORDS = 145  # median note length of the v1 generator on this fixture (SmolLM2 tokens: 284)


@pytest.fixture(scope="module")
def extract():
    return generate_extract(SyntheticSettings(n_encounters=2000, years=(2019, 2025), seed=7, return_rate=0.1))


@pytest.fixture(scope="module")
def diagnostics(extract):
    return dataset_diagnostics(*extract)


def test_same_seed_same_extract():
    a = generate_extract(SyntheticSettings(n_encounters=50, seed=3))
    b = generate_extract(SyntheticSettings(n_encounters=50, seed=3))
    c = generate_extract(SyntheticSettings(n_encounters=50, seed=4))
    assert a == b and a != c


def test_every_record_passes_validation(extract):
    records, _ = extract
    for record in records:
        validate_record(record)
    assert len({r["encounter_id"] for r in records}) == len(records)


def test_every_code_valid_in_its_year(extract):
    records, choices = extract
    for record, choice in zip(records, choices):
        fy = codesets.fiscal_year(record["surgery_date"])
        assert choice["fiscal_year"] == fy
        assert set(record["icd10"]) <= codesets.icd10cm_codes(fy), record["icd10"]
        year = int(record["surgery_date"][:4])
        assert {line["cpt"] for line in record["cpt_lines"]} <= codesets.cpt_codes(year)
        assert all(m in codesets.modifier_codes() for line in record["cpt_lines"] for m in line["modifiers"])


def test_modifiers_follow_the_choices(extract):
    records, choices = extract
    policy = Policy()
    for record, choice in zip(records, choices):
        surgeon = record["cpt_lines"][0]["provider"]
        surgeon_lines = [line for line in record["cpt_lines"] if line["provider"] == surgeon]
        assistant_lines = [line for line in record["cpt_lines"] if line["provider"] != surgeon]
        assert len(surgeon_lines) == len(choice["procedures"])
        for position, (line, proc) in enumerate(zip(surgeon_lines, choice["procedures"])):
            mods = set(line["modifiers"])
            side_mods = {"R": {"RT"}, "L": {"LT"}, "B": {"50"}, None: set()}[proc["side"]]
            assert mods & {"RT", "LT", "50"} == side_mods
            row = policy.catalog_row(line["cpt"])
            assert ("51" in mods) == (position > 0 and row["add_on"] != "yes")
            assert bool(mods & {"59", "XS"}) == (position > 0 and proc["distinct"] and row["add_on"] != "yes")
            expected_return = {choice["return"]["modifier"]} if choice["return"] else set()
            assert mods & {"58", "78", "79"} == expected_return
            assert line["modifiers"] == order_modifiers(line["modifiers"])
        if choice["assistant"]:
            assert assistant_lines and all(choice["assistant"]["modifier"] in line["modifiers"] for line in assistant_lines)
            assert all(policy.catalog_row(line["cpt"])["assistant"] == "yes" for line in assistant_lines)
        else:
            assert not assistant_lines


def test_claims_are_hard_the_way_the_paper_describes(extract):
    records, choices = extract
    # billed comorbidities make ICD lists longer than the indications alone, and some mentioned ones go unbilled
    billed = sum(any(d["why"] == "comorbidity billed" for d in c["diagnoses"]) for c in choices)
    unbilled = sum(bool(set(c["comorbidities_mentioned"]) - {d["code"] for d in c["diagnoses"]}) for c in choices)
    assert billed > 0.1 * len(choices) and unbilled > 0.05 * len(choices)
    modifiers = {m for r in records for line in r["cpt_lines"] for m in line["modifiers"]}
    assert {"RT", "LT", "50", "51", "79", "78", "58"} <= modifiers and modifiers & {"80", "82", "AS"}
    notes = [r["op_note"] for r in records]
    assert len({n.split("\n")[0] for n in notes}) >= 3  # varied headers
    history = re.compile(r"past medical history|PMH|medical history|Hx of|Past history|Medical hx", re.IGNORECASE)
    assert sum(bool(history.search(n)) for n in notes) > 0.2 * len(notes)


def test_services_follow_paper_mix(extract):
    records, _ = extract
    share = sum(r["service"] == "Ophthalmology" for r in records) / len(records)
    assert 0.25 < share < 0.37  # paper: 31.0%
    pediatric = [r for r in records if r["service"].startswith("Pediatric")]
    assert all(r["patient_age"] < 18 for r in pediatric)
    assert all(r["patient_sex"] == "F" for r in records if r["service"] in ("Gynecology", "Obstetrics"))


def test_years_beyond_the_shipped_code_sets_read_the_configured_files(tmp_path):
    """config codesets.icd10cm_files reaches the generator (README: other fiscal years need CMS code files)."""
    cms = tmp_path / "icd10cm_codes_2018.txt"  # FY2019's codes standing in for a CMS FY2018 file (its format)
    cms.write_text("".join(f"{code.replace('.', '')}    {text}\n"
                           for code, text in codesets.icd10cm_descriptions(2019).items()))
    settings = SyntheticSettings(n_encounters=30, years=(2018, 2018), seed=5)
    records, choices = generate_extract(settings, icd10cm_files={2018: str(cms)})
    assert {c["fiscal_year"] for c in choices} == {2018, 2019} and len(records) == 30
    with pytest.raises(KeyError, match="codesets.icd10cm_files"):
        generate_extract(settings)


# -- evidence-linked labels (paper 002) ----------------------------------------------------------------------------
def test_every_gold_code_has_its_evidence_at_its_line(extract):
    records, choices = extract
    for record, choice in zip(records, choices):
        lines = record["op_note"].split("\n")
        assert [e["code"] for e in record["icd10_evidence"]] == record["icd10"]
        for evidence, label in zip(record["icd10_evidence"], choice["diagnoses"]):
            assert evidence["text"] and evidence["text"] in lines[evidence["line"]], (record["encounter_id"], evidence)
            assert evidence["text"].lower() == label["written"].lower()  # the span is the surface form the note wrote


def test_discards_are_counted_and_never_silently_lost(extract, diagnostics):
    records, choices = extract
    for record, choice in zip(records, choices):
        note = record["op_note"].lower()
        assert all(d["reason"] in DISCARD_REASONS for d in choice["discarded"])
        assert choice["discard_counts"] == {r: sum(d["reason"] == r for d in choice["discarded"])
                                            for r in {d["reason"] for d in choice["discarded"]}}
        intended = [f for f in choice["domain_findings"] if f["billed"]]
        accounted = {(x["code"], x["phrase"]) for x in choice["diagnoses"] + choice["discarded"]}
        assert {(f["code"], f["phrase"]) for f in intended} <= accounted  # every billed finding is kept or discarded
        for d in choice["discarded"]:
            if d["reason"] == "no_evidence_in_note":
                assert d["phrase"].lower() not in note and d["phrase"] in choice["unwritten_mentions"]
            elif d["reason"] == "no_valid_code_in_fiscal_year":
                assert d["code"] is None
        # a mention the note left out is never a gold label
        assert not set(choice["unwritten_mentions"]) & {label["phrase"] for label in choice["diagnoses"]}
    totals = diagnostics["discards"]
    assert totals["n_discarded"] == sum(len(c["discarded"]) for c in choices) > 0
    assert totals["n_kept"] == sum(len(r["icd10"]) for r in records)
    assert totals["n_intended"] == totals["n_kept"] + totals["n_discarded"]
    assert {"no_evidence_in_note", "no_valid_code_in_fiscal_year"} <= set(totals["by_reason"])
    assert 0.01 < totals["rate"] < 0.15


def test_cpt_lines_carry_a_rationale_naming_their_modifiers(extract):
    records, _ = extract
    for record in records:
        for line in record["cpt_lines"]:
            assert line["rationale"].endswith(".") and all(f"{m}:" in line["rationale"] for m in line["modifiers"])


# -- the paper's domains -------------------------------------------------------------------------------------------
def test_a_sided_diagnosis_is_that_sides_code_in_the_code_set():
    """A right or left procedure's diagnosis code must name that side in its code-set description (the policy once
    gave a left upper eyelid H02.832, "right lower eyelid"). Bilateral may fall back to an unspecified side."""
    from claimbench.data.synthetic import resolve_diagnosis

    descriptions = codesets.icd10cm_descriptions(2024)
    valid = frozenset(descriptions)
    wrong = []
    for cpt, procedure in Policy().raw["procedures"].items():
        for entry in procedure.get("diagnoses") or ():
            if not any("{lat}" in t for t in entry.get("codes") or [entry.get("code", "")]):
                continue
            for side, word in (("R", "right"), ("L", "left")):
                code = resolve_diagnosis(entry, side, valid)
                if code and not re.search(rf"\b{word}\b", descriptions[code].lower()):
                    wrong.append((cpt, side, code, descriptions[code]))
    assert wrong == []


def test_domain_findings_codes_belong_to_their_domain_and_resolve_by_year():
    policy = Policy()
    gaps = set()
    for entry in policy.raw["domain_findings"]:
        for code in entry["codes"]:
            assert domain_of(code) == entry["domain"], code
            assert any(code in codesets.icd10cm_codes(fy) for fy in range(2019, 2027)), f"{code}: in no shipped year"
        for fy in range(2019, 2027):
            if not any(code in codesets.icd10cm_codes(fy) for code in entry["codes"]):
                gaps.add((entry["codes"][0], fy))
    # financial insecurity has a code only in FY2023-FY2025: its label is discarded in the other years, on purpose
    assert gaps == {("Z59.86", fy) for fy in (2019, 2020, 2021, 2022, 2026)}


def test_domain_shares_and_documentation_from_explicit_to_implicit(extract, diagnostics):
    _, choices = extract
    for name, share in diagnostics["domain_shares"].items():
        assert 0.10 <= share["share"] <= 0.25, (name, share)
    sections = {}
    for choice in choices:
        for finding in choice["domain_findings"]:
            sections.setdefault(finding["domain"], []).append(finding["section"])
    header = {name: s.count("header") / len(s) for name, s in sections.items()}
    implicit = {name: (s.count("social") + s.count("nursing")) / len(s) for name, s in sections.items()}
    assert header["SDoH"] < 0.1 and implicit["SDoH"] > 0.85  # social history and nursing lines, rarely the header
    assert implicit["Frailty"] < 0.5 and implicit["Advanced Illness"] < 0.2  # mostly problem list and history
    assert header["Advanced Illness"] > header["SDoH"] and header["Frailty"] > header["SDoH"]


# -- notes that read like dictation ----------------------------------------------------------------------------------
def test_note_lengths_spread_and_median_kept(diagnostics):
    words = diagnostics["note_length"]["words"]
    assert abs(words["median"] - V1_MEDIAN_WORDS) <= 0.15 * V1_MEDIAN_WORDS  # the default run's time depends on it
    assert words["min"] < 70 and words["p5"] < 90  # terse brief notes (v1: 94 words at least)
    assert words["max"] > 450 and words["p95"] > 350  # long narrative reports (v1: 243 words at most)


def test_notes_vary_in_layout_headings_and_shorthand(extract, diagnostics):
    records, _ = extract
    notes = [r["op_note"] for r in records]
    assert set(diagnostics["note_length"]["layouts"]) == {"formal", "brief", "dictated", "narrative"}
    preop = {m.group(1) for n in notes for m in re.finditer(r"^(\w[\w -]*?(?:dx|DX|DIAGNOS\w*|[Dd]iagnos\w*)):", n, re.M)}
    assert len(preop) >= 6
    # a diagnosis heading (or the diagnosis told in a sentence) and a procedure heading on one line
    run_together = sum(bool(re.search(r"(DIAGNOS|[Dd]iagnos|DX|Dx)[^\n]*\. [^\n]*(PROCEDURE|OPERATION|Procedure|PROC)", n))
                       for n in notes)
    assert run_together > 0.1 * len(notes)  # sections typed into one paragraph
    shorthand = sum(bool(re.search(r"\bw/ |\bpt\b|\bhx\b|\bOR\b|\bpre-op\b", n)) for n in notes)
    assert shorthand > 0.3 * len(notes)
    inline_list = sum(bool(re.search(r"(1\) |\(1\) |#1 ).*(2\) |\(2\) |#2 )", n)) for n in notes)
    assert inline_list > 0.02 * len(notes)  # lists inside the prose
    orders = [n.index("urgeon") < n.lower().index("diagnos") for n in notes if "urgeon" in n and "diagnos" in n.lower()]
    assert 0.05 < np.mean(orders) < 0.95  # section order varies


def test_same_seed_same_choices_and_evidence():
    a_records, a_choices = generate_extract(SyntheticSettings(n_encounters=80, seed=11))
    b_records, b_choices = generate_extract(SyntheticSettings(n_encounters=80, seed=11))
    assert a_records == b_records and a_choices == b_choices
    assert [r["op_note"] for r in a_records] != [r["op_note"] for r in generate_extract(SyntheticSettings(n_encounters=80, seed=12))[0]]
