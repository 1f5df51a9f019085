"""Code hints (beyond the paper) for the ``ft-mini+lexicon`` configuration (prompt kind ``rag_lexicon``).

- ICD-10-CM: the code lexicon of the training split, the phrases coders cited as evidence for a code
  (``icd10_evidence[].text``) and the codes they gave each phrase, counted. A note's hints are the lexicon phrases
  found in it, each with its codes, most frequent first. Training notes see the lexicon without their own evidence
  (leave-one-out), so training shows hints as incomplete as an unseen note gets. An extract without evidence links
  gives an empty lexicon.
- CPT: the catalog codes whose descriptions are closest (all-MiniLM-L6-v2, cosine) to a line of the note, each line
  matched against every description: needs no training evidence, and works with a licensed catalog
  (``codesets.cpt_catalog``).

The fine-tuned model is shown them beside the neighbours' claims, so it chooses among codes instead of recalling
them: which mentions to bill, which of a phrase's codes (e.g. the laterality) fits, which procedure was done.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


def _unit_rows(vectors):
    """Each row scaled to length 1, so a dot product is the cosine similarity."""
    import numpy as np

    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def normalize_phrase(text: str) -> str:
    """Lower case, single spaces: how a phrase is stored and how a note is searched."""
    return " ".join(str(text).lower().split())


@dataclass
class CodeLexicon:
    """phrase -> Counter(code), with each training encounter's own contributions kept for leave-one-out."""

    counts: dict[str, Counter] = field(default_factory=dict)
    own: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # encounter -> its (phrase, code) pairs

    @classmethod
    def from_records(cls, records: Iterable[Mapping]) -> "CodeLexicon":
        """From records of the data contract; those without ``icd10_evidence`` add nothing."""
        lexicon = cls()
        for record in records:
            pairs = []
            for item in record.get("icd10_evidence") or ():
                phrase, code = normalize_phrase(item.get("text") or ""), str(item.get("code") or "")
                if phrase and code:
                    pairs.append((phrase, code))
                    lexicon.counts.setdefault(phrase, Counter())[code] += 1
            lexicon.own[str(record.get("encounter_id"))] = pairs
        return lexicon

    def _counts_without(self, encounter_id: str | None) -> dict[str, Counter]:
        mine = self.own.get(str(encounter_id), ()) if encounter_id is not None else ()
        if not mine:
            return self.counts
        counts = {phrase: Counter(codes) for phrase, codes in self.counts.items()}
        for phrase, code in mine:
            counts[phrase][code] -= 1
        return {phrase: +codes for phrase, codes in counts.items() if +codes}  # unary + drops counts <= 0

    def hints(self, note: str, encounter_id: str | None = None) -> list[tuple[str, list[str]]]:
        """The lexicon phrases found in ``note`` (whole words; a phrase inside a longer found phrase is left out),
        in order of first appearance, each with its codes by count (ties by code). ``encounter_id``: leave that
        training encounter's own evidence out."""
        counts = self._counts_without(encounter_id)
        text = normalize_phrase(note)
        found = {}
        for phrase in counts:
            match = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text)
            if match:
                found[phrase] = match.start()
        kept = [p for p in found if not any(p != q and p in q for q in found)]
        kept.sort(key=lambda p: (found[p], p))
        return [(p, [code for code, _ in sorted(counts[p].items(), key=lambda kv: (-kv[1], kv[0]))]) for p in kept]

    def sided_hints(self, note: str, encounter_id: str | None = None, fiscal_year: int | None = None,
                    cms_files: Mapping | None = None,
                    sides: bool = True) -> tuple[list[tuple[str, list[str]]], str | None]:
        """``hints`` with every code moved to the side the note documents (claimbench.laterality; the code set of
        ``fiscal_year`` gives the counterparts), and that side ("R", "L", "B" or None). Without a fiscal year the
        codes stay as the lexicon holds them; with ``sides`` False they stay too, and the side is None."""
        from claimbench.laterality import note_side, side_siblings

        found = self.hints(note, encounter_id)
        side = note_side(note) if sides else None
        if side is None or fiscal_year is None:
            return found, side
        siblings = side_siblings(fiscal_year, cms_files)
        return [(phrase, siblings.resolve(codes, side)) for phrase, codes in found], side


def best_codes(hints: list[tuple[str, list[str]]]) -> list[str]:
    """Each hinted phrase's first (most frequent) code, in note order, without repeats: the lexicon's own answer."""
    return list(dict.fromkeys(codes[0] for _, codes in hints))


class CptDescriptionIndex:
    """The CPT catalog's descriptions embedded once; a note's candidates are the codes whose description is most
    similar to any of its lines (lines shorter than ``min_line_chars`` are headings and are skipped)."""

    def __init__(self, catalog, embedder, batch_size: int = 32, min_line_chars: int = 12):
        from claimbench.retrieval import embed

        self.codes = [str(c) for c in catalog["cpt"]]
        self.descriptions = [str(d) for d in catalog["description"]]
        self.embedder, self.batch_size, self.min_line_chars = embedder, batch_size, min_line_chars
        self.vectors = _unit_rows(embed(self.descriptions, embedder, batch_size))

    def _lines(self, note: str) -> list[str]:
        return [line.strip() for line in str(note).splitlines() if len(line.strip()) >= self.min_line_chars]

    def candidates_many(self, notes: list[str], k: int) -> list[list[tuple[str, str]]]:
        """For each note, the ``k`` most similar (code, description), most similar first (ties by catalog order).
        Lines shared by several notes (templates, boilerplate) are embedded once."""
        import numpy as np

        from claimbench.retrieval import embed

        per_note = [self._lines(note) for note in notes]
        unique = list(dict.fromkeys(line for lines in per_note for line in lines))
        if not unique or k <= 0:
            return [[] for _ in notes]
        similarity = _unit_rows(embed(unique, self.embedder, self.batch_size)) @ self.vectors.T
        row = {line: i for i, line in enumerate(unique)}
        out = []
        for lines in per_note:
            if not lines:
                out.append([])
                continue
            best = similarity[[row[line] for line in lines]].max(axis=0)
            out.append([(self.codes[i], self.descriptions[i]) for i in np.argsort(-best, kind="stable")[:k]])
        return out

    def candidates(self, note: str, k: int) -> list[tuple[str, str]]:
        """The ``k`` most similar (code, description) of one note."""
        return self.candidates_many([note], k)[0]


class LexicalNeighbours:
    """The training notes nearest a note by the words they share: TF-IDF over word 1- and 2-grams (fitted on the
    training notes only; sublinear term counts), cosine similarity. Beyond the paper's embedding retrieval: on the
    validation notes of the default extract the nearest training note's CPT codes were right more often this way
    (kNN CPT F1 0.73 against 0.66 with all-MiniLM-L6-v2, which reads only a note's first 256 word pieces and weighs
    the boilerplate that every note shares; docs/decisions.md)."""

    def __init__(self, train_ids: list[str], train_notes: list[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.ids = [str(i) for i in train_ids]
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform([str(n) for n in train_notes])

    def nearest(self, ids: list[str], notes: list[str], k: int) -> list[list[str]]:
        """Each note's ``k`` nearest training notes, nearest first (ties in training order); a training note is
        never its own neighbour."""
        import numpy as np

        similarity = (self.vectorizer.transform([str(n) for n in notes]) @ self.matrix.T).toarray()
        out = []
        for eid, row in zip(ids, similarity):
            order = [self.ids[j] for j in np.argsort(-row, kind="stable") if self.ids[j] != str(eid)]
            out.append(order[:k])
        return out


def hint_block(hints: list[tuple[str, list[str]]], cpt: list[tuple[str, str]] | None = None,
               show_side: bool = False, side: str | None = None) -> str:
    """The hints as the prompt shows them (templates in prompts.yaml, ``lexicon``): the ICD-10-CM phrases and their
    codes, with ``show_side`` the side the note documents ("R", "L", "B", or None: not stated), then (when given)
    the CPT candidates with their descriptions."""
    from claimbench.laterality import SIDE_MODIFIERS, SIDE_WORDS
    from claimbench.prompts import templates

    t = templates()["lexicon"]
    items = [t["item"].format(phrase=phrase, codes=", ".join(codes)) for phrase, codes in hints] or [t["none"]]
    if show_side:
        stated = t["side_item"].format(side=SIDE_WORDS[side], modifier=SIDE_MODIFIERS[side]) if side else t["no_side"]
        items.append(t["side_header"] + " " + stated)
    block = "\n".join([t["header"], *items])
    if cpt is not None:
        lines = [t["cpt_item"].format(code=code, description=text) for code, text in cpt] or [t["none"]]
        block += "\n\n" + "\n".join([t["cpt_header"], *lines])
    return block


def code_hints(queries, train, cpt_index: CptDescriptionIndex | None = None, k_cpt: int = 3, sides: bool = False,
               cms_files: Mapping | None = None, lexical_k: int = 0):
    """One hint block per query encounter (a DataFrame: encounter_id, hints): the training split's lexicon (a
    training note without its own evidence) and, with ``cpt_index``, the ``k_cpt`` closest CPT descriptions. With
    ``sides``, each hinted code is moved to the side the note documents and the block states that side
    (claimbench.laterality; ``cms_files``: codesets.icd10cm_files). With ``lexical_k``, column ``neighbours`` holds
    the note's ``lexical_k`` nearest training notes by ``LexicalNeighbours``, whose claims the prompt then shows in
    place of the embedding neighbours (``claimbench.predict.run.prompt_examples``)."""
    import pandas as pd

    lexicon = CodeLexicon.from_records(train.to_dict("records"))
    ids, notes = queries["encounter_id"].astype(str).tolist(), queries["op_note"].tolist()
    years = queries["fiscal_year"].tolist() if "fiscal_year" in queries else [None] * len(notes)
    cpt = cpt_index.candidates_many(notes, k_cpt) if cpt_index is not None else [None] * len(notes)
    rows = []
    for eid, note, year, found in zip(ids, notes, years, cpt):
        hints, side = lexicon.sided_hints(note, eid, year, cms_files, sides)
        rows.append({"encounter_id": eid, "hints": hint_block(hints, found, show_side=sides, side=side)})
    table = pd.DataFrame(rows, columns=["encounter_id", "hints"])
    if lexical_k > 0:
        index = LexicalNeighbours(train["encounter_id"].astype(str).tolist(), train["op_note"].tolist())
        table["neighbours"] = index.nearest(ids, notes, lexical_k)
    return table


def code_hint_table(query_frames, lexical_ks, train, embedder=None, batch_size: int = 32, cpt_hints: int = 0,
                    cpt_catalog=None, side_hints: bool = False, icd10cm_files: Mapping | None = None):
    """``code_hints`` of each frame of ``query_frames`` with its own number of lexical neighbours (``lexical_ks``, in
    the same order; 0 = none listed), in one table; the CPT candidates' index is built once, when ``cpt_hints`` > 0.
    The settings are those of rules code_hints / finetune_code_hints (config ``retrieval``, ``codesets``)."""
    import pandas as pd

    from claimbench.codesets import cpt_catalog as read_catalog
    from claimbench.retrieval import load_embedder

    index = None
    if int(cpt_hints) > 0:
        index = CptDescriptionIndex(read_catalog(cpt_catalog), load_embedder(embedder), int(batch_size))
    return pd.concat([code_hints(queries, train, index, int(cpt_hints), bool(side_hints), icd10cm_files, int(k))
                      for queries, k in zip(query_frames, lexical_ks, strict=True)], ignore_index=True)
