"""The code sets' descriptions as one table per code system, with per-year validity and embeddings.

ICD-10-CM changes every fiscal year, but most descriptions do not: FY2019-FY2025 hold 74,882 distinct (code,
description) pairs against 72,000-74,000 codes a year. So a code set is one row per distinct (code, description)
pair over all the years a run needs, a boolean mask per year says which rows are valid then, and each distinct
description is embedded once. The CPT catalog is the same table with calendar years (its first_year / last_year).

Cost: all-MiniLM-L6-v2 embeds 168 ICD-10-CM descriptions a second on one core of this 2-core machine (17 word
pieces each on average; 65-72 while other work loads the cores; 2026-12-07, ``experiments/grounding_validation.py
--time-embedding 2000``), so the 74,832 distinct descriptions of FY2019-FY2025 cost 7-18 minutes of one core, the
126,402 of FY2019-FY2026 12-30. The CPT catalog
(371 rows) takes seconds. ``embed_rows`` therefore embeds only the rows asked for: all of the CPT catalog, and of
ICD-10-CM either everything (config ``grounding.shortlist: null``) or, at query time, the rows a lexical shortlist
names (``claimbench.grounding.resolve``), each kept once embedded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SYSTEMS = ("icd10cm", "cpt")


@dataclass
class CodeSet:
    """One code system's rows: ``codes[i]`` described by ``texts[i]``, valid in ``years[j]`` where ``valid[j, i]``;
    ``vectors[i]`` its unit-length embedding where ``embedded[i]`` (zeros elsewhere)."""

    system: str
    codes: list[str]
    texts: list[str]
    years: list[int]
    valid: np.ndarray
    vectors: np.ndarray | None = None
    embedded: np.ndarray | None = None
    _text_rows: dict = field(default_factory=dict, repr=False)
    _valid_codes: dict = field(default_factory=dict, repr=False)
    _last_text: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.embedded is None:
            self.embedded = np.zeros(len(self.codes), dtype=bool)
        for row, text in enumerate(self.texts):
            self._text_rows.setdefault(text, []).append(row)

    def mask(self, year: int) -> np.ndarray:
        """The rows valid in ``year`` (a fiscal year for ICD-10-CM, a calendar year for CPT)."""
        try:
            return self.valid[self.years.index(int(year))]
        except ValueError:
            unit = "fiscal year" if self.system == "icd10cm" else "year"
            raise KeyError(f"the {self.system} code set index holds no {unit} {year} (it holds {self.years}); "
                           "rebuild it with the encounters that need it") from None

    def valid_codes(self, year: int) -> frozenset:
        """The codes valid in ``year`` (``mask``), computed once per year."""
        if year not in self._valid_codes:
            self._valid_codes[year] = frozenset(self.codes[r] for r in np.flatnonzero(self.mask(year)))
        return self._valid_codes[year]

    def row_of(self, code: str, text: str) -> int:
        """The row of a (code, description) pair (a candidate of claimbench.grounding.resolve)."""
        return next(row for row in self._text_rows[text] if self.codes[row] == code)

    def description(self, code: str) -> str | None:
        """The (last) description of ``code``, or None when it is not in the table."""
        if not self._last_text:
            self._last_text.update(zip(self.codes, self.texts))  # later rows overwrite: the last description
        return self._last_text.get(code)


def icd10cm_codeset(fiscal_years: Iterable[int], cms_files: Mapping | None = None) -> CodeSet:
    """Every (code, description) pair of the given fiscal years, with a validity mask per year."""
    from claimbench.codesets import icd10cm_descriptions

    years = sorted({int(y) for y in fiscal_years})
    per_year = {year: icd10cm_descriptions(year, cms_files) for year in years}
    pairs = sorted({pair for described in per_year.values() for pair in described.items()})
    row = {pair: i for i, pair in enumerate(pairs)}
    valid = np.zeros((len(years), len(pairs)), dtype=bool)
    for j, year in enumerate(years):
        valid[j, [row[pair] for pair in per_year[year].items()]] = True
    return CodeSet("icd10cm", [c for c, _ in pairs], [t for _, t in pairs], years, valid)


def cpt_codeset(years: Iterable[int], catalog: str | Path | None = None) -> CodeSet:
    """The CPT catalog's rows with a validity mask per calendar year (first_year / last_year, blank = open)."""
    from claimbench.codesets import cpt_catalog

    frame = cpt_catalog(catalog)
    years = sorted({int(y) for y in years})
    first = frame["first_year"].to_numpy(dtype=float)
    last = frame["last_year"].to_numpy(dtype=float)
    valid = np.array([~(first > year) & ~(last < year) for year in years], dtype=bool).reshape(len(years), len(frame))
    return CodeSet("cpt", frame["cpt"].astype(str).tolist(), frame["description"].astype(str).tolist(), years, valid)


def embed_rows(codeset: CodeSet, rows: Iterable[int] | None, embedder, batch_size: int = 64) -> int:
    """Embed the rows not yet embedded among ``rows`` (None = all), each distinct description once; returns how
    many descriptions were embedded."""
    from claimbench.retrieval import embed

    wanted = np.arange(len(codeset.codes)) if rows is None else np.unique(np.fromiter(rows, dtype=np.int64))
    todo = list(dict.fromkeys(codeset.texts[i] for i in wanted if not codeset.embedded[i]))
    if not todo:
        return 0
    vectors = unit_rows(embed(todo, embedder, batch_size=batch_size))
    if codeset.vectors is None:
        codeset.vectors = np.zeros((len(codeset.codes), vectors.shape[1]), dtype=np.float32)
    for text, vector in zip(todo, vectors):
        rows_of_text = codeset._text_rows[text]
        codeset.vectors[rows_of_text] = vector
        codeset.embedded[rows_of_text] = True
    return len(todo)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1, so a dot product is the cosine similarity."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def case_years(encounters) -> tuple[list[int], list[int]]:
    """Each encounter's ICD-10-CM fiscal year and CPT (calendar) year, from surgery_date (and fiscal_year)."""
    from claimbench.codesets import fiscal_year

    dates = [str(d)[:10] for d in encounters["surgery_date"]]
    fiscal = (encounters["fiscal_year"].astype(int).tolist() if "fiscal_year" in encounters
              else [fiscal_year(d) for d in dates])
    return fiscal, [int(d[:4]) for d in dates]


def years_needed(encounters) -> dict[str, list[int]]:
    """The ICD-10-CM fiscal years and CPT years a frame of encounters needs."""
    fiscal, years = case_years(encounters)
    return {"icd10cm": sorted(set(fiscal)), "cpt": sorted(set(years))}


def save_codesets(path: str | Path, codesets: Mapping[str, CodeSet]) -> None:
    """One .npz: per system its codes, texts, years, masks and the embedded rows' vectors."""
    arrays = {}
    for system, cs in codesets.items():
        rows = np.flatnonzero(cs.embedded)
        arrays.update({
            f"{system}.codes": np.asarray(cs.codes, dtype=str), f"{system}.texts": np.asarray(cs.texts, dtype=str),
            f"{system}.years": np.asarray(cs.years, dtype=np.int64), f"{system}.valid": cs.valid,
            f"{system}.embedded_rows": rows,
            f"{system}.vectors": (cs.vectors[rows] if cs.vectors is not None else np.zeros((0, 0), np.float32)),
        })
    save_arrays(path, arrays)


def save_arrays(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """``arrays`` as one compressed .npz at exactly ``path`` (its folder made if missing). Compressed because numpy
    stores strings at the longest one's width: ICD-10-CM's descriptions alone take 115 MB plain, 2 MB compressed
    (docs/grounding.md), and the test suite writes several copies of each file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:  # a handle: numpy would otherwise append ".npz" to the name
        np.savez_compressed(handle, **arrays)


def load_codesets(path: str | Path) -> dict[str, CodeSet]:
    with np.load(path) as data:
        out = {}
        for system in SYSTEMS:
            if f"{system}.codes" not in data:
                continue
            cs = CodeSet(system, [str(c) for c in data[f"{system}.codes"]], [str(t) for t in data[f"{system}.texts"]],
                         [int(y) for y in data[f"{system}.years"]], data[f"{system}.valid"].astype(bool))
            rows, vectors = data[f"{system}.embedded_rows"], data[f"{system}.vectors"]
            if len(rows):
                cs.vectors = np.zeros((len(cs.codes), vectors.shape[1]), dtype=np.float32)
                cs.vectors[rows] = vectors
                cs.embedded[rows] = True
            out[system] = cs
        return out


def run_years(cms_files: Mapping | None = None) -> dict[str, list[int]]:
    """The years an index built before any split is read must hold: every fiscal year with an ICD-10-CM code set
    (ingestion rejects an encounter of any other), and the calendar years those fiscal years span for CPT."""
    from claimbench.codesets import available_fiscal_years

    fiscal = sorted(available_fiscal_years(cms_files))
    return {"icd10cm": fiscal, "cpt": list(range(fiscal[0] - 1, fiscal[-1] + 1))}


def build_codesets(years: Mapping[str, Iterable[int]], embedder, cms_files: Mapping | None = None,
                   cpt_catalog: str | Path | None = None, embed_icd10cm: bool = False,
                   batch_size: int = 64) -> tuple[dict[str, CodeSet], dict]:
    """Both code sets for ``years`` (system -> years: ``years_needed`` or ``run_years``), the CPT catalog embedded
    (and ICD-10-CM with ``embed_icd10cm``); and facts for the log (rows, distinct descriptions, embedded, seconds)."""
    import time

    codesets = {"icd10cm": icd10cm_codeset(years["icd10cm"], cms_files), "cpt": cpt_codeset(years["cpt"], cpt_catalog)}
    facts = {}
    for system, cs in codesets.items():
        started = time.perf_counter()
        n = embed_rows(cs, None, embedder, batch_size) if system == "cpt" or embed_icd10cm else 0
        facts[system] = {"years": cs.years, "rows": len(cs.codes), "distinct_descriptions": len(cs._text_rows),
                         "valid_per_year": dict(zip(cs.years, cs.valid.sum(axis=1).tolist())),
                         "embedded": n, "embed_seconds": round(time.perf_counter() - started, 2)}
    return codesets, facts
