import pytest

from claimbench import codesets


@pytest.mark.parametrize("date, fy", [("2019-09-30", 2019), ("2019-10-01", 2020), ("2022-12-31", 2023), ("2024-01-01", 2024)])
def test_fiscal_year_starts_in_october(date, fy):
    assert codesets.fiscal_year(date) == fy


def test_icd10cm_fiscal_year_sets_differ_where_cms_changed_codes():
    # N18.3 (CKD stage 3) was split into N18.30/N18.31/N18.32 in FY2021.
    assert "N18.3" in codesets.icd10cm_codes(2020) and "N18.30" not in codesets.icd10cm_codes(2020)
    assert "N18.30" in codesets.icd10cm_codes(2021) and "N18.3" not in codesets.icd10cm_codes(2021)
    assert len(codesets.icd10cm_codes(2019)) == 71932  # CMS FY2019 count of billable codes
    assert codesets.icd10cm_descriptions(2022)["H25.11"] == "Age-related nuclear cataract, right eye"


def test_fy2026_from_simple_icd_10_cm_has_only_billable_codes():
    codes = codesets.icd10cm_codes(2026)
    assert "H25.11" in codes and "H25.1" not in codes and "H25" not in codes


def test_unshipped_fiscal_year_names_the_config_key(tmp_path):
    with pytest.raises(KeyError, match="icd10cm_files"):
        codesets.icd10cm_codes(2017)
    cms = tmp_path / "icd10cm_codes_2017.txt"
    cms.write_text("A000    Cholera due to Vibrio cholerae 01, biovar cholerae\nH2511   Age-related nuclear cataract, right eye\n")
    assert codesets.icd10cm_codes(2017, {2017: str(cms)}) == {"A00.0", "H25.11"}


def test_demo_cpt_catalog_and_year_validity():
    catalog = codesets.cpt_catalog()
    assert catalog.cpt.is_unique and catalog.cpt.str.fullmatch(r"\d{5}").all()
    assert "49585" in codesets.cpt_codes(2022) and "49585" not in codesets.cpt_codes(2023)
    assert "49591" in codesets.cpt_codes(2023) and "49591" not in codesets.cpt_codes(2022)
    assert set(codesets.modifier_codes()) >= {"RT", "LT", "50", "51", "59", "XS", "78", "79", "58", "80", "82", "AS"}


def test_icd9cm_descriptions():
    icd9 = codesets.icd9cm_descriptions()
    assert len(icd9) == 14567
    assert icd9["250.00"].startswith("Diabetes mellitus without mention of complication")


def test_icd10cm_headers_are_the_non_billable_categories():
    headers = codesets.icd10cm_headers(2025)
    assert headers["E11"] == "Type 2 diabetes mellitus" and "E11.9" not in headers
    assert not set(headers) & codesets.icd10cm_codes(2025)
    assert codesets.icd10cm_headers(2017) == {}  # CMS files list billable codes only
