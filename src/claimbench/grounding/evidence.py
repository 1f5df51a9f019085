"""Evidence-grounded coding without a language model (configuration method ``grounded+evidence``, beyond the paper):
each clause of the note is matched to the training split's clauses and to the code sets' descriptions, and a code is
claimed where the nearest anchors agree on it.

Anchors (all-MiniLM-L6-v2, cosine):
- the training notes' clauses, each labelled with the codes it is evidence for: for ICD-10-CM the clauses that hold a
  coder's cited evidence span (``icd10_evidence``, on its line); for CPT, where the extract links no span, the
  clause most like the billed line's own words (its ``rationale`` without "documented …", and the catalog
  description), at least ``CPT_LABEL_MIN``. Every other clause is an anchor with no code: it is what the
  coders left uncoded (a resolved history, a step of the procedure), so a note clause near it claims nothing;
- each code's own description (ICD-10-CM of the training encounter's fiscal year, with the classification's related
  terms; the whole CPT catalog): what bridges phrasings the training notes never used.

A clause's vote for a code is the share of its ``k`` nearest anchors' similarity that carries the code times the
best such similarity; a code's score in the note is its best clause vote. Per code system the claim takes the codes
scoring at least ``threshold``, at most ``max_codes`` (and, with ``min_codes`` 1, the best-voted code where none
passes), only codes valid for the encounter's year (never fabricated);
ICD-10-CM codes are moved to the documented side and paired CPT codes get its side modifier, as ``grounded`` does.
``k``, ``threshold``, ``max_codes`` and ``min_codes`` are chosen per code system on the validation split, on record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from claimbench.grounding.codeset_index import save_arrays, unit_rows
from claimbench.lexicon import normalize_phrase

CPT_LABEL_MIN = 0.5  # least cosine of the clause that carries a billed CPT line in a training note
KS = (1, 3, 5, 10)  # nearest anchors per clause, chosen on validation with the threshold and the code count
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7)
MAX_CODES = (1, 2, 3, 4, 6)
MIN_CODES = (0, 1)  # 1: the best-voted valid code even below the threshold (every training claim has both systems)
_HEADER = re.compile(r"^\s*[A-Za-z][A-Za-z0-9 ()/&'.#-]{0,48}?\s*:\s*")
_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+")
_PARTS = re.compile(r"\s*[,;]\s+|\s+(?:and|&)\s+|(?:^|\s)\d+[.)]\s+")
_RATIONALE_TAIL = re.compile(r"\s+documented\b.*$", re.IGNORECASE | re.DOTALL)


def note_clauses(note: str) -> list[tuple[int, str]]:
    """(line index, clause) pairs: each sentence of each line without its heading, then, where it lists several
    things, each of its comma-, semicolon- or "and"-separated parts; in note order, each (line, text) once."""
    out = []
    for i, line in enumerate(str(note).split("\n")):
        body = _HEADER.sub("", line, count=1)
        for sentence in _SENTENCE_END.split(body):
            sentence = sentence.strip(" .\t")
            if len(sentence) < 2:
                continue
            out.append((i, sentence))
            parts = [p.strip(" .\t") for p in _PARTS.split(sentence)]
            if len(parts) > 1:
                out += [(i, p) for p in parts if len(p) >= 2]
    return list(dict.fromkeys(out))


@dataclass
class Anchors:
    """One code system's anchors: unit vectors and, for each, the codes it carries (empty: an uncoded clause)."""

    vectors: np.ndarray
    codes: list[tuple[str, ...]]
    texts: list[str]


def icd10_clause_codes(record: Mapping, clauses: list[tuple[int, str]]) -> list[tuple[str, ...]]:
    """Each clause's ICD-10-CM codes: those whose cited evidence span lies within it on its line."""
    spans = [(int(e["line"]), normalize_phrase(e["text"]), str(e["code"])) for e in record.get("icd10_evidence") or ()
             if e.get("text")]
    return [tuple(dict.fromkeys(code for span_line, span, code in spans
                                if span_line == line and span and span in normalize_phrase(text)))
            for line, text in clauses]


def cpt_line_words(line: Mapping) -> list[str]:
    """A billed CPT line's own words: its rationale without "documented …", and its catalog description."""
    words = [_RATIONALE_TAIL.sub("", str(line.get("rationale") or "")).strip(), str(line.get("description") or "")]
    return [w for w in dict.fromkeys(words) if w]


def cpt_clause_codes(record: Mapping, clause_vectors: np.ndarray, line_vectors) -> list[tuple[str, ...]]:
    """Each clause's CPT codes: a billed line's code goes to the clause most like its own words (``line_vectors``:
    the line's words' unit vectors, one array per line), where that similarity is at least ``CPT_LABEL_MIN``."""
    own: list[list[str]] = [[] for _ in range(len(clause_vectors))]
    for line, vectors in zip(record.get("cpt_lines") or (), line_vectors):
        if not len(clause_vectors) or not len(vectors):
            continue
        similarity = (clause_vectors @ vectors.T).max(axis=1)
        best = int(np.argmax(similarity))
        if similarity[best] >= CPT_LABEL_MIN:
            own[best].append(str(line["cpt"]))
    return [tuple(dict.fromkeys(codes)) for codes in own]


def build_anchors(train, embedder, descriptions: Mapping[str, list[tuple[str, str]]], batch_size: int = 64
                  ) -> dict[str, Anchors]:
    """Per code system the anchors of the training split: its notes' clauses with their codes (or none), then the
    description anchors (``descriptions``: system -> (code, words) pairs)."""
    from claimbench.retrieval import embed

    records = train.to_dict("records")
    clauses = [note_clauses(r["op_note"]) for r in records]
    texts = list(dict.fromkeys(t for cs in clauses for _, t in cs))
    words = list(dict.fromkeys(w for r in records for line in r.get("cpt_lines") or () for w in cpt_line_words(line)))
    vectors = unit_rows(embed(texts + words, embedder, batch_size=batch_size))  # one call: the same batches each run
    row = {t: i for i, t in enumerate(texts)}
    word_row = {w: len(texts) + i for i, w in enumerate(words)}
    labels: dict[str, list] = {"icd10cm": [], "cpt": []}
    for record, cs in zip(records, clauses):
        labels["icd10cm"] += icd10_clause_codes(record, cs)
        line_vectors = [vectors[[word_row[w] for w in cpt_line_words(line)]] for line in record.get("cpt_lines") or ()]
        labels["cpt"] += cpt_clause_codes(record, vectors[[row[t] for _, t in cs]], line_vectors)
    clause_texts = [t for cs in clauses for _, t in cs]
    clause_vectors = vectors[[row[t] for t in clause_texts]]
    out = {}
    for system in ("icd10cm", "cpt"):
        described = list(descriptions.get(system) or ())
        desc_vectors = (unit_rows(embed([t for _, t in described], embedder, batch_size=batch_size)) if described
                        else np.zeros((0, vectors.shape[1]), dtype=vectors.dtype))
        out[system] = Anchors(np.vstack([clause_vectors, desc_vectors]).astype(np.float32),
                              labels[system] + [(c,) for c, _ in described], clause_texts + [t for _, t in described])
    return out


def clause_votes(query_vectors: np.ndarray, anchors: Anchors, k: int) -> list[dict[str, float]]:
    """Each query clause's vote per code: the share of its ``k`` nearest anchors' similarity carrying the code,
    times the best such similarity."""
    if not len(query_vectors):
        return []
    similarity = query_vectors @ anchors.vectors.T
    k = min(k, similarity.shape[1])
    top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    out = []
    for q, rows in enumerate(top):
        sims = np.clip(similarity[q, rows], 0.0, None)
        total = float(sims.sum()) or 1.0
        share, best = {}, {}
        for r, s in zip(rows, sims):
            for code in anchors.codes[r]:
                share[code] = share.get(code, 0.0) + float(s) / total
                best[code] = max(best.get(code, 0.0), float(s))
        out.append({code: share[code] * best[code] for code in share})
    return out


def keep_codes(scores: Mapping[str, float], valid: Iterable[str] | frozenset, threshold: float,
               max_codes: int, min_codes: int = 0) -> list[str]:
    """The valid codes scoring at least ``threshold``, best first (ties by code), at most ``max_codes``; where fewer
    pass, the best valid codes with any vote up to ``min_codes`` (a claim bills at least one procedure)."""
    valid = frozenset(valid)
    ranked = sorted((c for c in scores if c in valid and scores[c] > 0), key=lambda c: (-scores[c], c))
    kept = [c for c in ranked if scores[c] >= threshold][:max_codes]
    return kept if len(kept) >= min_codes else ranked[:min(min_codes, max_codes)]


@dataclass(frozen=True)
class EvidenceSetting:
    k: int
    threshold: float
    max_codes: int
    min_codes: int = 0


def case_scores(cases, anchors: Mapping[str, Anchors], embedder, ks: Iterable[int] = KS,
                batch_size: int = 64) -> dict[int, dict[str, list[dict[str, float]]]]:
    """k -> code system -> each case's code scores: each code's best clause vote in the note (``clause_votes``), for
    every k at once, each clause embedded once."""
    from claimbench.retrieval import embed

    clauses = [[t for _, t in note_clauses(note)] for note in cases["op_note"]]
    texts = list(dict.fromkeys(t for cs in clauses for t in cs))
    vectors = unit_rows(embed(texts, embedder, batch_size=batch_size)) if texts else np.zeros((0, 1))
    row = {t: i for i, t in enumerate(texts)}
    out = {}
    for k in ks:
        out[k] = {system: [] for system in anchors}
        for cs in clauses:
            for system, anchor in anchors.items():
                scores: dict[str, float] = {}
                for votes in clause_votes(vectors[[row[t] for t in cs]], anchor, k) if cs else ():
                    for code, v in votes.items():
                        scores[code] = max(scores.get(code, 0.0), v)
                out[k][system].append(scores)
    return out


def description_anchors(icd10_codes: Iterable[str], codesets: Mapping, related_terms: bool = False
                        ) -> dict[str, list[tuple[str, str]]]:
    """system -> (code, words) pairs of the description anchors: the ICD-10-CM description of each of
    ``icd10_codes`` (the codes the training claims hold) and, with ``related_terms``, the classification's other
    words for it (``claimbench.codesets.icd10cm_related_terms``); the whole CPT catalog (``codesets``: rule
    codeset_index's)."""
    from claimbench.codesets import icd10cm_related_terms

    icd = codesets["icd10cm"]
    pairs = []
    for code in dict.fromkeys(icd10_codes):
        if description := icd.description(code):
            related = icd10cm_related_terms(code) if related_terms else ()
            pairs += [(code, words) for words in (description, *related)]
    return {"icd10cm": list(dict.fromkeys(pairs)), "cpt": list(zip(codesets["cpt"].codes, codesets["cpt"].texts))}


def training_anchors(train, codesets: Mapping, embedder, batch_size: int = 64) -> dict[str, Anchors]:
    """``build_anchors`` over the training split with its ``description_anchors``, the related terms included: they
    bridge phrasings the training notes never used (docs/grounding.md)."""
    described = description_anchors((str(c) for codes in train["icd10"] for c in codes), codesets,
                                    related_terms=True)
    return build_anchors(train, embedder, described, batch_size)


def save_anchors(path, anchors: Mapping[str, Anchors]) -> None:
    """One .npz (rule evidence_anchors): per code system the unit vectors, each anchor's codes ("|"-joined; empty for
    an uncoded clause) and its words."""
    arrays = {}
    for system, anchor in anchors.items():
        arrays.update({f"{system}.vectors": anchor.vectors,
                       f"{system}.codes": np.asarray(["|".join(c) for c in anchor.codes], dtype=str),
                       f"{system}.texts": np.asarray(anchor.texts, dtype=str)})
    save_arrays(path, arrays)


def load_anchors(path) -> dict[str, Anchors]:
    with np.load(path) as data:
        systems = sorted({key.split(".")[0] for key in data.files})
        return {system: Anchors(data[f"{system}.vectors"],
                                [tuple(c.split("|")) if c else () for c in data[f"{system}.codes"].tolist()],
                                data[f"{system}.texts"].tolist())
                for system in systems}


class EvidenceCoder:
    """The training split's anchors (built from ``train``, or read from rule evidence_anchors' ``anchors`` file) over
    rule codeset_index's code sets: scores notes and writes their claims."""

    def __init__(self, index_path, settings: Mapping, codesets: Mapping | None = None, *, train=None,
                 anchors=None):
        from claimbench.grounding.codeset_index import load_codesets
        from claimbench.grounding.reference import ClaimBuilder
        from claimbench.retrieval import load_embedder

        if (train is None) == (anchors is None):
            raise ValueError("EvidenceCoder needs the training split or its anchors file, one of the two")
        codesets = dict(codesets or {})
        self.embedder = load_embedder(settings.get("embedder"))
        self.batch_size = int(settings.get("batch_size", 64))
        self.codesets = load_codesets(index_path)
        self.cms_files, self.cpt_catalog = codesets.get("icd10cm_files"), codesets.get("cpt_catalog")
        self.build = ClaimBuilder(self.cms_files, self.cpt_catalog)
        self.anchors = (load_anchors(anchors) if anchors is not None
                        else training_anchors(train, self.codesets, self.embedder, self.batch_size))

    def valid(self, system: str, year: int) -> frozenset:
        return self.codesets[system].valid_codes(year)

    def scores(self, cases, ks: Iterable[int] = KS) -> dict:
        from threadpoolctl import threadpool_limits

        # one BLAS thread: the products are small, and spinning BLAS threads stall beside the run's other jobs
        with threadpool_limits(limits=1):
            return case_scores(cases, self.anchors, self.embedder, ks, self.batch_size)

    def claims(self, cases, scores: Mapping, settings: Mapping[str, EvidenceSetting]) -> list:
        """Each case's claim under ``settings`` (per code system) from ``scores`` (``self.scores``)."""
        from claimbench.grounding.codeset_index import case_years

        fiscal, years = case_years(cases)
        icd, cpt = settings["icd10cm"], settings["cpt"]
        cpt_codes = self.codesets["cpt"]
        out = []
        for i, note in enumerate(cases["op_note"]):
            icd10 = keep_codes(scores[icd.k]["icd10cm"][i], self.valid("icd10cm", fiscal[i]), icd.threshold,
                               icd.max_codes, icd.min_codes)
            lines = keep_codes(scores[cpt.k]["cpt"][i], self.valid("cpt", years[i]), cpt.threshold, cpt.max_codes,
                               cpt.min_codes)
            out.append(self.build(str(note), fiscal[i], icd10, [(c, cpt_codes.description(c)) for c in lines]))
        return out


def select_settings(coder: EvidenceCoder, validation) -> dict:
    """Per code system the (k, threshold, code count, least code count) of the highest validation F1, ties to the
    fewer neighbours, the higher threshold, fewer codes and no least count; on record with every candidate's F1."""
    from claimbench.grounding.reference_selection import best_per_system

    scores = coder.scores(validation, KS)
    grid = [EvidenceSetting(k, t, m, n) for k in KS for m in MAX_CODES for t in THRESHOLDS for n in MIN_CODES]
    return best_per_system(validation, grid, lambda s: coder.claims(validation, scores, {"icd10cm": s, "cpt": s}),
                           lambda r: (-r["k"], r["threshold"], -r["max_codes"], -r["min_codes"]),
                           coder.cms_files, coder.cpt_catalog)


def chosen_settings(choice: Mapping) -> dict[str, EvidenceSetting]:
    return {system: EvidenceSetting(int(c["k"]), float(c["threshold"]), int(c["max_codes"]),
                                    int(c.get("min_codes", 0)))
            for system, c in choice["chosen"].items()}
