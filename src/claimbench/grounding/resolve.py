"""Description text -> the top-k codes valid for a year, by all-MiniLM-L6-v2 cosine similarity.

A query is a group of texts (one description, or the lines of a note); a code's score for the group is its best
cosine similarity to any of them, so a note is matched line by line and a description as a whole. Only rows valid in
the query's year are candidates, so a resolved code is never fabricated.

Every valid row is scored where the whole code set is embedded (the CPT catalog; ICD-10-CM with config
``grounding.shortlist: null``). Otherwise the candidates are a lexical shortlist first: the ``shortlist`` valid rows
of highest TF-IDF similarity (word 1-2-grams, English stop words left out), whose descriptions are then embedded
(once per run) and ranked by cosine. Embedding all ICD-10-CM descriptions of a run costs 12-30 min of one core here
(``claimbench.grounding.codeset_index``); a shortlist of 64 a few seconds per hundred queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from claimbench.grounding.codeset_index import CodeSet, embed_rows, unit_rows


@dataclass(frozen=True)
class Candidate:
    code: str
    description: str
    score: float


class Resolver:
    """Ranks one code set's valid rows for groups of query texts."""

    def __init__(self, codeset: CodeSet, embedder, shortlist: int | None = 64, batch_size: int = 64):
        self.codeset, self.embedder, self.batch_size = codeset, embedder, batch_size
        self.shortlist = int(shortlist) if shortlist else None
        self._lexical = None

    def _lexical_index(self):
        if self._lexical is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
            self._lexical = (vectorizer, vectorizer.fit_transform(self.codeset.texts).T.tocsr())
        return self._lexical

    def _candidate_rows(self, groups: list[list[int]], texts: list[str], valid: np.ndarray) -> list[np.ndarray]:
        """Each group's candidate rows: every valid row, or its lexical shortlist where the code set is not all
        embedded (those rows are embedded here)."""
        all_valid = np.flatnonzero(valid)
        if self.shortlist is None or self.codeset.embedded[all_valid].all():
            embed_rows(self.codeset, all_valid, self.embedder, self.batch_size)
            return [all_valid] * len(groups)
        vectorizer, matrix = self._lexical_index()
        similarity = (vectorizer.transform(texts) @ matrix).tocsr()
        out = []
        for members in groups:
            if not members:
                out.append(np.zeros(0, dtype=np.int64))
                continue
            best = similarity[members].max(axis=0).toarray().ravel()
            best[~valid] = -1.0
            n = min(self.shortlist, len(all_valid))
            top = np.argpartition(-best, n - 1)[:n] if n else np.zeros(0, dtype=np.int64)
            out.append(top[best[top] > 0] if (best[top] > 0).any() else top)
        embed_rows(self.codeset, np.concatenate(out) if out else [], self.embedder, self.batch_size)
        return out

    def rank(self, queries: list[list[str]], year: int, k: int) -> list[list[Candidate]]:
        """For each query (a list of texts), the ``k`` valid codes of ``year`` most similar to any of its texts,
        most similar first (ties by row order); an empty query gets none."""
        from claimbench.retrieval import embed

        valid = self.codeset.mask(year)
        texts = list(dict.fromkeys(t for query in queries for t in query))
        if not texts or k <= 0:
            return [[] for _ in queries]
        position = {t: i for i, t in enumerate(texts)}
        groups = [[position[t] for t in dict.fromkeys(query)] for query in queries]
        query_vectors = unit_rows(embed(texts, self.embedder, batch_size=self.batch_size))
        out = []
        for members, rows in zip(groups, self._candidate_rows(groups, texts, valid)):
            if not members or not len(rows):
                out.append([])
                continue
            rows = np.sort(rows)
            scores = (query_vectors[members] @ self.codeset.vectors[rows].T).max(axis=0)
            order = np.argsort(-scores, kind="stable")[:k]
            out.append([Candidate(self.codeset.codes[rows[i]], self.codeset.texts[rows[i]], float(scores[i]))
                        for i in order])
        return out

    def rank_by_year(self, queries: list[list[str]], years: list[int], k: int) -> list[list[Candidate]]:
        """``rank`` for queries of different years, each ranked within its own year's valid codes."""
        out: list[list[Candidate]] = [[] for _ in queries]
        for year in sorted(set(years)):
            members = [i for i, y in enumerate(years) if y == year]
            for i, ranked in zip(members, self.rank([queries[i] for i in members], year, k)):
                out[i] = ranked
        return out
