"""Coverage of the demo CPT catalog and the coding policy: every catalog code has a procedure, every Table 1 service
has its procedures, every diagnosis resolves to a billable ICD-10-CM code in each shipped fiscal year, and the
generator still draws from all of it. Year changes in ICD-10-CM are handled by `codes` alternatives (first valid
wins), so every diagnosis entry must resolve in every fiscal year 2019-2026 for each side it can be drawn for."""

import pytest

from claimbench import codesets
from claimbench.data.contract import validate_record
from claimbench.data.synthetic import SIDES, Policy, SyntheticSettings, generate_extract, resolve_diagnosis
from claimbench.models.claim_grammar import GrammarLimits

FISCAL_YEARS = range(2019, 2027)
CPT_YEARS = range(2019, 2027)
MIN_PROCEDURES_PER_SERVICE = 6


@pytest.fixture(scope="module")
def policy():
    return Policy()


@pytest.fixture(scope="module")
def catalog():
    return codesets.cpt_catalog()


def _add_ons(policy) -> set[str]:
    return {cpt for cpt, row in policy.catalog.items() if row["add_on"] == "yes"}


def test_catalog_size_format_and_columns(catalog):
    assert len(catalog) >= 300
    assert catalog.cpt.is_unique and catalog.cpt.str.fullmatch(r"\d{5}").all()
    assert set(catalog.laterality) <= {"paired", "none"}
    assert set(catalog.assistant) <= {"yes", "no"} and set(catalog.add_on) <= {"yes", "no"}
    assert set(catalog.global_days) <= {"0", "10", "90", "ZZZ", "MMM"}
    # ZZZ marks exactly the add-on codes (they live inside their primary's global package)
    assert ((catalog.global_days == "ZZZ") == (catalog.add_on == "yes")).all()
    # the claim grammar bounds free-text descriptions; the catalog stays under it with room to spare
    assert catalog.description.str.len().max() <= GrammarLimits().max_description_chars - 10
    assert not catalog.description.str.contains("#").any()  # '#' starts a comment in this file


def test_year_validity_of_codes_that_changed(catalog):
    # 2023: the abdominal wall hernia family was replaced (49560/49652/49568 out, 49593/49595/49623 in)
    for old in ("49560", "49652", "49568", "49585"):
        assert old in codesets.cpt_codes(2022) and old not in codesets.cpt_codes(2023)
    for new in ("49591", "49593", "49595", "49623"):
        assert new not in codesets.cpt_codes(2022) and new in codesets.cpt_codes(2023)
    assert "66991" not in codesets.cpt_codes(2021) and "66991" in codesets.cpt_codes(2022)  # cataract + stent
    assert "64624" not in codesets.cpt_codes(2019) and "64624" in codesets.cpt_codes(2020)  # genicular RFA
    assert "64582" not in codesets.cpt_codes(2021) and "64582" in codesets.cpt_codes(2022)  # hypoglossal stimulator
    assert "11102" in codesets.cpt_codes(2019)  # 2019 skin biopsy family; open-ended since
    assert len(codesets.cpt_codes(2023)) < len(catalog)


def test_catalog_and_procedures_match(policy, catalog):
    assert set(catalog.cpt) == set(policy.procedures)
    for cpt, entry in policy.procedures.items():
        assert entry["names"] and all(isinstance(n, str) and n.strip() for n in entry["names"]), cpt
        assert entry["site"] and entry["steps"], cpt
        # flow-style YAML splits items at commas: a step that does not end a sentence is a split fragment
        assert all(isinstance(s, str) and s.endswith(".") for s in entry["steps"]), (cpt, entry["steps"])
        if policy.catalog[cpt]["add_on"] != "yes":
            assert entry["diagnoses"], f"{cpt} is a primary procedure with no diagnosis to justify it"


def test_real_transcription_gaps_are_covered(catalog):
    """Primary CPTs that 13 of 20 real operative transcriptions needed and the 95-code catalog lacked."""
    needed = {
        "62223": "ventriculoperitoneal shunt", "62230": "shunt revision", "63740": "lumboperitoneal shunt",
        "22510": "vertebroplasty", "22513": "kyphoplasty", "36561": "port", "36558": "tunneled catheter",
        "36821": "AV fistula", "36830": "AV graft", "38510": "deep cervical node biopsy", "42405": "salivary biopsy",
        "41100": "tongue biopsy", "31535": "laryngeal biopsy", "42800": "oropharynx biopsy",
    }
    assert set(needed) <= set(catalog.cpt)


def test_every_service_has_its_procedures(policy):
    assert set(policy.services) == set(policy.raw["paper_service_counts"])  # paper 000's 23 services (Table 1)
    add_ons = _add_ons(policy)
    for service, spec in policy.services.items():
        codes = spec["procedures"]
        assert len(codes) >= MIN_PROCEDURES_PER_SERVICE, service
        assert set(codes) <= set(policy.procedures), service
        assert not set(codes) & add_ons, f"{service}: an add-on code cannot be the primary procedure"
        assert all(weight > 0 for weight in codes.values()), service
        for year in CPT_YEARS:  # year-limited codes must leave enough to draw from in every year
            assert sum(policy.cpt_valid(c, year) for c in codes) >= MIN_PROCEDURES_PER_SERVICE - 1, (service, year)


def test_companions_and_add_ons(policy):
    add_ons = _add_ons(policy)
    primaries = {c for spec in policy.services.values() for c in spec["procedures"]}
    companion_codes = set()
    for primary, companions in policy.raw["companions"].items():
        assert primary in primaries, f"companion list of {primary}, which no service performs"
        for companion in companions:
            assert companion["cpt"] in policy.procedures and 0 < companion["p"] <= 1, (primary, companion)
            companion_codes.add(companion["cpt"])
    assert add_ons <= companion_codes, f"add-ons that can never be drawn: {sorted(add_ons - companion_codes)}"
    # every catalog code is reachable: as some service's primary or as a companion
    assert primaries | companion_codes == set(policy.procedures)


def _sides(policy, cpt: str, entry: dict) -> list[str]:
    """The sides an entry can be drawn for (the generator resolves side-less procedures as R)."""
    allowed = entry.get("only", SIDES)
    if policy.catalog[cpt]["laterality"] != "paired":
        return ["R"]
    sides = [s for s in ("R", "L") if s in allowed]
    return sides + (["B"] if allowed == ["B"] else [])


@pytest.mark.parametrize("fy", FISCAL_YEARS)
def test_every_diagnosis_resolves_in_every_fiscal_year(policy, fy):
    valid = codesets.icd10cm_codes(fy)
    unresolved = [
        (cpt, entry.get("codes") or entry["code"], side)
        for cpt, proc in policy.procedures.items()
        for entry in proc["diagnoses"]
        for side in _sides(policy, cpt, entry)
        if resolve_diagnosis(entry, side, valid) is None
    ]
    assert not unresolved
    for cpt, proc in policy.procedures.items():  # a bilateral draw needs a bilateral-capable diagnosis
        if policy.catalog[cpt]["laterality"] == "paired" and proc.get("bilateral_p", 0) > 0:
            assert any(resolve_diagnosis(e, "B", valid) for e in proc["diagnoses"] if "B" in e.get("only", SIDES)), cpt


def test_resolve_diagnosis_known_answers():
    entry = {"codes": ["K35.209", "K35.20", "K35.2"]}  # FY2024 split K35.20 into K35.200/K35.201/K35.209
    assert resolve_diagnosis(entry, "R", codesets.icd10cm_codes(2019)) == "K35.20"
    assert resolve_diagnosis(entry, "R", codesets.icd10cm_codes(2023)) == "K35.20"
    assert resolve_diagnosis(entry, "R", codesets.icd10cm_codes(2024)) == "K35.209"
    lower_lid = {"code": "H02.13{lat}", "lat_digits": "25"}  # right lower lid 2, left lower lid 5
    assert resolve_diagnosis(lower_lid, "L", codesets.icd10cm_codes(2022)) == "H02.135"


@pytest.fixture(scope="module")
def extract():
    settings = SyntheticSettings(n_encounters=2000, years=(2019, 2025), service_shares="uniform", seed=11)
    return generate_extract(settings)


def test_generator_uses_the_whole_policy(extract, policy):
    records, choices = extract
    assert len(records) == 2000
    assert {r["service"] for r in records} == set(policy.services)
    add_ons = _add_ons(policy)
    for record, choice in zip(records, choices):
        validate_record(record)
        fy, year = codesets.fiscal_year(record["surgery_date"]), int(record["surgery_date"][:4])
        assert set(record["icd10"]) <= codesets.icd10cm_codes(fy), record["encounter_id"]
        assert {line["cpt"] for line in record["cpt_lines"]} <= codesets.cpt_codes(year), record["encounter_id"]
        assert choice["procedures"][0]["cpt"] not in add_ons
        assert any(d["why"].startswith("indication") for d in choice["diagnoses"]), record["encounter_id"]
    drawn = {line["cpt"] for r in records for line in r["cpt_lines"]}
    assert len(drawn) >= 0.8 * len(policy.procedures)  # most of the catalog appears in one modest extract
