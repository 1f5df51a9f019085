"""Dataset diagnostics of a generated extract, as paper 002 records them (code frequency, labels per document, discard
rate by reason) plus the paper's domain shares and the spread of note lengths. They describe the data, never a
model's performance."""

from __future__ import annotations

from collections import Counter

import numpy as np

from claimbench.data.domains import domain_of, load_domains


def _spread(values: list[int]) -> dict:
    """n, mean, min, 5th/25th/50th/75th/95th percentiles and max of a list of counts (only n when empty)."""
    array = np.asarray(values, dtype=float)
    if not len(array):
        return {"n": 0}
    q = np.percentile(array, [5, 25, 50, 75, 95])
    return {"n": int(len(array)), "mean": round(float(array.mean()), 2), "min": int(array.min()),
            "p5": round(float(q[0]), 2), "p25": round(float(q[1]), 2), "median": round(float(q[2]), 2),
            "p75": round(float(q[3]), 2), "p95": round(float(q[4]), 2),
            "max": int(array.max())}


def dataset_diagnostics(records: list[dict], choices: list[dict], domains: dict | None = None) -> dict:
    """Diagnostics of an extract and its ``choices`` records (claimbench.data.synthetic), in one JSON-ready dict.

    - ``code_frequency``: documents per ICD-10-CM code and per CPT code, most frequent first.
    - ``labels_per_document``: the spread of gold ICD-10-CM labels per document, and a histogram.
    - ``discards``: labels intended, kept and discarded, the discard rate, and counts and rates by reason.
    - ``domain_shares``: per paper-002 domain, documents with at least one gold label in it (count and share).
    - ``note_length``: the spread of note lengths in words (whitespace-separated), characters and lines, and the
      number of notes of each layout family.
    """
    domains = domains or load_domains()
    n = len(records)
    icd = Counter(code for r in records for code in dict.fromkeys(r["icd10"]))
    cpt = Counter(code for r in records for code in dict.fromkeys(line["cpt"] for line in r["cpt_lines"]))
    per_doc = [len(r["icd10"]) for r in records]
    reasons = Counter(d["reason"] for c in choices for d in c.get("discarded", []))
    kept = sum(per_doc)
    discarded = sum(reasons.values())
    intended = kept + discarded
    in_domain = Counter(name for r in records for name in {domain_of(code, domains) for code in r["icd10"]} - {None})
    notes = [r["op_note"] for r in records]
    return {
        "n_documents": n,
        "code_frequency": {"icd10": dict(icd.most_common()), "cpt": dict(cpt.most_common()),
                           "n_distinct_icd10": len(icd), "n_distinct_cpt": len(cpt)},
        "labels_per_document": {**_spread(per_doc), "histogram": {str(k): v for k, v in sorted(Counter(per_doc).items())}},
        "discards": {"n_intended": intended, "n_kept": kept, "n_discarded": discarded,
                     "rate": round(discarded / intended, 4) if intended else 0.0,
                     "by_reason": dict(reasons.most_common()),
                     "rate_by_reason": {k: round(v / intended, 4) for k, v in reasons.most_common()}},
        "domain_shares": {name: {"documents": in_domain.get(name, 0),
                                 "share": round(in_domain.get(name, 0) / n, 4) if n else 0.0} for name in domains},
        "note_length": {"words": _spread([len(note.split()) for note in notes]),
                        "characters": _spread([len(note) for note in notes]),
                        "lines": _spread([len(note.split("\n")) for note in notes]),
                        "layouts": dict(Counter(c.get("note_layout", {}).get("style") for c in choices).most_common())},
    }
