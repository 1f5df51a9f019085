"""Invariants of the synthetic extract: every code valid for its year, modifiers consistent with the lines."""

import pytest

from claimbench import codesets
from claimbench.data.ingest import validate_record
from claimbench.data.synthetic import Policy, SyntheticSettings, generate_extract, order_modifiers


@pytest.fixture(scope="module")
def extract():
    return generate_extract(SyntheticSettings(n_encounters=1500, years=(2019, 2025), seed=7, return_rate=0.1))


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
    assert sum("Past medical history" in n or "PMH:" in n or "Medical history includes" in n for n in notes) > 0.2 * len(notes)


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
