"""Description-grounded variant of paper 002's fine-tuned stand-in (configuration ``fine-tuned+grounded``, beyond the
paper): the fine-tuned model's own words resolved to valid codes, as paper 002 resolved descriptions to codes in its
data pipeline ("descriptions rather than raw CPT codes, which are prone to hallucination").

The fine-tuned model writes, for each diagnosis, the supporting words it copied from the note (``evidence.text``) and
a rationale quoting them, and for each procedure a rationale that names it ("Phacoemulsification with PCIOL
implantation documented."), but it invents the codes beside them. Here every code it wrote is thrown away. Each
diagnosis's words and each procedure's rationale are matched by all-MiniLM-L6-v2 cosine to anchors that carry a code:
the training part's evidence spans (ICD-10-CM) and billed lines' own words (CPT: rationale and catalog description),
and each anchor code's own description. The code of the nearest anchor valid for the chart's fiscal year
(ICD-10-CM) or surgery year (CPT) is the answer, moved to the side the note documents (``claimbench.laterality``).
Nothing is chosen on data: one neighbour, no threshold (words that share nothing with any anchor, cosine 0 or less,
claim nothing). The model's evidence text is kept, on the line it named where the text stands there, else on the
first line that holds it, so Level 4 scores the evidence it cited.

The model's text is read leniently (``model_entries``): a claim that breaks the JSON grammar still has entries whose
words can be read, and the variant is about those words. A chart whose text yields no words gets an empty claim
(every gold code missed), never an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from claimbench.grounding.codeset_index import unit_rows
from claimbench.grounding.evidence import Anchors, cpt_line_words, description_anchors
from claimbench.paper002.schema import SEPARATORS, gold_claim

CONFIGURATION = "fine-tuned+grounded"
SOURCE = "fine-tuned"  # the configuration whose words are grounded
_STRING = r'"((?:[^"\\]|\\.)*)"'
_SYSTEM = re.compile(r'"(icd10|cpt)"\s*:')
_ENTRY = re.compile(r'\{\s*"code"\s*:')
_RATIONALE = re.compile(r'"rationale"\s*:\s*' + _STRING)
_EVIDENCE = re.compile(r'"evidence"\s*:\s*\{\s*"line"\s*:\s*(\d+)\s*,\s*"text"\s*:\s*' + _STRING)
_QUOTED = re.compile(r'"([^"]{2,})"')
_TAIL = re.compile(r"\s+(?:documented\b|which is coded\b).*$", re.IGNORECASE | re.DOTALL)
_NEXT_CLAIM = re.compile(r'\}\s*\]\s*\}?\s*\n?\s*\{\s*"icd10"')


@dataclass(frozen=True)
class Entry:
    """One entry the model wrote: its code system, the words to ground, and (ICD-10-CM) the evidence it cited."""

    system: str  # "icd10" | "cpt"
    words: str
    line: int | None = None
    text: str | None = None


def _unescape(value: str) -> str:
    try:
        return json.loads(f'"{value}"')
    except json.JSONDecodeError:
        return value.replace('\\"', '"')


def rationale_words(rationale: str) -> str:
    """What a rationale names: its quoted words where it quotes the note, else its text before "documented" or
    "which is coded"."""
    quoted = _QUOTED.search(rationale)
    return _TAIL.sub("", quoted.group(1) if quoted else rationale).strip(" \t.,;:")


def model_entries(text: object) -> list[Entry]:
    """The entries of the first claim in the model's text, read entry by entry (``{"code": ...`` starts one; the last
    ``"icd10"`` / ``"cpt"`` key before it names its system), each with its words; entries without words are left out,
    repeated ones kept once."""
    text = str(text or "")
    second = _NEXT_CLAIM.search(text)
    if second:  # a model that starts a second claim after its first: only the first is its answer
        text = text[:second.start() + 1]
    systems = [(m.start(), m.group(1)) for m in _SYSTEM.finditer(text)]
    starts = [m.start() for m in _ENTRY.finditer(text)]
    out = []
    for i, start in enumerate(starts):
        system = next((s for at, s in reversed(systems) if at < start), None)
        if system is None:
            continue
        chunk = text[start:starts[i + 1] if i + 1 < len(starts) else len(text)]
        rationale = _RATIONALE.search(chunk)
        rationale = _unescape(rationale.group(1)) if rationale else ""
        if system == "icd10":
            evidence = _EVIDENCE.search(chunk)
            line, cited = (int(evidence.group(1)), _unescape(evidence.group(2))) if evidence else (None, None)
            words = cited.strip() if cited and cited.strip() else rationale_words(rationale)
            entry = Entry(system, words, line, cited)
        else:
            entry = Entry(system, rationale_words(rationale))
        if entry.words:
            out.append(entry)
    return list(dict.fromkeys(out))


def nearest_valid(anchors: Anchors, query: np.ndarray, valid: frozenset) -> tuple[str, float, str] | None:
    """(code, cosine, anchor words) of the nearest anchor whose code is valid (each anchor here carries one code);
    None when none is, or when the words are no nearer to it than to an unrelated text (cosine 0 or less: they share
    nothing)."""
    similarity = anchors.vectors @ query
    for row in np.argsort(-similarity, kind="stable"):
        if similarity[row] <= 0:
            return None
        code = anchors.codes[row][0]
        if code in valid:
            return code, float(similarity[row]), anchors.texts[row]
    return None


def training_anchor_texts(train, descriptions: Mapping[str, list[tuple[str, str]]]
                          ) -> dict[str, list[tuple[str, str]]]:
    """Per code system the (words, code) pairs of the anchors: the training charts' evidence spans (ICD-10-CM) and
    billed lines' own words (CPT), then each code's description (``descriptions``: system -> (code, text) pairs)."""
    pairs: dict[str, list[tuple[str, str]]] = {"icd10cm": [], "cpt": []}
    for record in train.to_dict("records"):
        for entry in gold_claim(record)["icd10"]:
            pairs["icd10cm"].append((entry["evidence"]["text"].strip(), entry["code"]))
        for line in record.get("cpt_lines") or ():
            pairs["cpt"] += [(words, str(line["cpt"]).strip().upper()) for words in cpt_line_words(line)]
    for system, described in descriptions.items():
        pairs[system] += [(text, code) for code, text in described]
    return {system: list(dict.fromkeys(p for p in items if p[0])) for system, items in pairs.items()}


def build_code_anchors(pairs: Mapping[str, list[tuple[str, str]]], embedder, batch_size: int = 64
                       ) -> dict[str, Anchors]:
    """Per code system the anchors of ``training_anchor_texts``' pairs, each carrying its one code."""
    from claimbench.retrieval import embed

    return {system: Anchors(unit_rows(embed([t for t, _ in items], embedder, batch_size=batch_size)),
                            [(c,) for _, c in items], [t for t, _ in items])
            for system, items in pairs.items()}


def _evidence_line(note_lines: list[str], entry: Entry) -> tuple[int, str]:
    """The evidence the model cited where its words stand on the line it names; else the first line that holds its
    words (the model often names a wrong line for words it copied right), else the line it named (or line 0): the
    claim layout needs one, and a wrong one only costs Level 4."""
    text = entry.text or entry.words
    named = entry.line if entry.line is not None and 0 <= entry.line < len(note_lines) else None
    if named is not None and text.lower() in note_lines[named].lower():
        return named, text
    line = next((i for i, words in enumerate(note_lines) if text.lower() in words.lower()), None)
    return (line if line is not None else named or 0), text


def ground_chart(entries: list[Entry], note: str, fiscal_year: int, year: int, anchors: Mapping[str, Anchors],
                 vectors: Mapping[str, np.ndarray], valid, cms_files: Mapping | None = None) -> tuple[dict, list]:
    """One chart's JSON claim from the model's entries (``vectors``: words -> unit vector) and the resolution record
    (each entry's words, the code chosen, its cosine and the anchor's words)."""
    from claimbench.laterality import note_side, side_siblings

    side = note_side(note)
    siblings = side_siblings(fiscal_year, cms_files) if side is not None else None
    lines = str(note).split("\n")
    claim: dict[str, list] = {"icd10": [], "cpt": []}
    record = []
    for entry in entries:
        system = "icd10cm" if entry.system == "icd10" else "cpt"
        found = nearest_valid(anchors[system], vectors[entry.words],
                              valid(system, fiscal_year if system == "icd10cm" else year))
        record.append({"system": system, "words": entry.words, "code": found[0] if found else None,
                       "cosine": round(found[1], 4) if found else None, "anchor": found[2] if found else None})
        if found is None:
            continue
        code = found[0]
        if entry.system == "icd10":
            if siblings is not None:
                code = siblings.resolve([code], side)[0]
            if any(e["code"] == code for e in claim["icd10"]):
                continue
            line, text = _evidence_line(lines, entry)
            claim["icd10"].append({"code": code, "rationale": f'The note documents "{entry.words}".',
                                   "evidence": {"line": line, "text": text}})
        elif not any(e["code"] == code for e in claim["cpt"]):
            claim["cpt"].append({"code": code, "rationale": f"{entry.words} documented."})
    return claim, record


def ground_predictions(rows: list[dict], charts, train, codesets_index, settings: Mapping,
                       codesets: Mapping | None = None) -> list[dict]:
    """The grounded prediction rows of the charts the source configuration predicted (``rows``: its prediction file's
    rows, in order), each with the claim as ``generated_text`` (what paper 002's evaluation parses) and its
    resolution record."""
    from threadpoolctl import threadpool_limits

    from claimbench.grounding.codeset_index import case_years, load_codesets
    from claimbench.retrieval import embed, load_embedder

    codesets = dict(codesets or {})
    index = load_codesets(codesets_index)
    embedder = load_embedder(settings.get("embedder"))
    batch_size = int(settings.get("batch_size", 64))
    described = description_anchors((e["code"] for r in train.to_dict("records") for e in gold_claim(r)["icd10"]),
                                    index)
    ids = charts["encounter_id"].astype(str).tolist()
    by_id = dict(zip(ids, zip(charts["op_note"], *case_years(charts))))  # id -> (note, fiscal year, CPT year)
    entries = [model_entries(row.get("generated_text")) for row in rows]
    words = list(dict.fromkeys(e.words for es in entries for e in es))
    with threadpool_limits(limits=1):  # small products; spinning BLAS threads stall beside the run's other jobs
        anchors = build_code_anchors(training_anchor_texts(train, described), embedder, batch_size)
        vectors = unit_rows(embed(words, embedder, batch_size=batch_size)) if words else np.zeros((0, 1))
        by_words = dict(zip(words, vectors))
        out = []
        for row, es in zip(rows, entries):
            note, fiscal_year, year = by_id[str(row["encounter_id"])]
            claim, record = ground_chart(es, note, fiscal_year, year, anchors, by_words,
                                         lambda system, when: index[system].valid_codes(when),
                                         codesets.get("icd10cm_files"))
            out.append({"encounter_id": str(row["encounter_id"]), "configuration": CONFIGURATION,
                        "model": f"{row.get('model')} + description grounding",
                        "source_configuration": SOURCE,
                        "generated_text": json.dumps(claim, ensure_ascii=False, separators=SEPARATORS),
                        "source_text": row.get("generated_text"), "resolution": record})
    return out


def meta(rows: list[dict], source_meta: Mapping, seconds: float) -> dict:
    """The meta file of the grounded predictions: what was grounded, how many of the model's entries found a valid
    code, and the source configuration's cases."""
    resolved = [r for row in rows for r in row["resolution"]]
    return {"configuration": CONFIGURATION, "method": "description grounding of the fine-tuned stand-in's words",
            "source_configuration": SOURCE, "model": source_meta.get("model"),
            "stands_in_for": source_meta.get("stands_in_for"), "run": bool(source_meta.get("run", True)),
            "case_ids": [row["encounter_id"] for row in rows], "n_cases": len(rows),
            "n_entries": len(resolved), "n_resolved": sum(r["code"] is not None for r in resolved),
            "charts_without_words": sum(not row["resolution"] for row in rows),
            "neighbours": 1, "threshold": None, "wall_seconds": round(seconds, 3)}
