"""Note-pair augmentation (paper 002, Methods 2.0.5 and Figure 4A): composite training samples of two notes.

"Pairs of clinical notes were concatenated into longer composite samples ... Corresponding label sets were merged, and
'line index' values were adjusted to account for the extended length of the concatenated clinical notes", amounting to
30% of the original volume of notes. Training only: evaluation notes are never paired.

A composite note is note A's lines, one separator line (``prompts.yaml`` paper002.pair_separator), then note B's
lines, so B's evidence lines move down by ``len(A.split("\\n")) + 1``.
"""

from __future__ import annotations

import random

from claimbench.prompts import templates


def pair_separator() -> str:
    return templates()["paper002"]["pair_separator"]


def _pairs(n_records: int, n_pairs: int, rng: random.Random) -> list[tuple[int, int]]:
    """``n_pairs`` pairs of distinct indices: consecutive items of seeded shuffles, so each round uses a note at most
    once (a new round starts when one runs out, e.g. for shares above one half)."""
    pairs: list[tuple[int, int]] = []
    while len(pairs) < n_pairs:
        order = list(range(n_records))
        rng.shuffle(order)
        pairs.extend(zip(order[0::2], order[1::2]))
    return pairs[:n_pairs]


def _shifted(evidence: list[dict] | None, offset: int) -> list[dict]:
    return [{**ev, "line": ev["line"] + offset} for ev in evidence or []]


def combine(a: dict, b: dict) -> dict:
    """One composite record: A's fields, the two notes joined by the separator line, labels merged (ICD-10-CM union
    in order with each code's first evidence, B's lines shifted; CPT lines of B only for codes A does not bill)."""
    lines_a = str(a["op_note"]).split("\n")
    offset = len(lines_a) + 1
    icd10, evidence = [], []
    evidence_a, evidence_b = a.get("icd10_evidence"), _shifted(b.get("icd10_evidence"), offset)
    has_evidence = isinstance(evidence_a, list) and isinstance(b.get("icd10_evidence"), list)
    for codes, evs in ((a.get("icd10") or [], evidence_a or []), (b.get("icd10") or [], evidence_b)):
        for k, code in enumerate(codes):
            if code not in icd10:
                icd10.append(code)
                if has_evidence:
                    evidence.append(evs[k])
    cpt_a = {line["cpt"] for line in a.get("cpt_lines") or []}
    out = {
        **a,
        "encounter_id": f"{a['encounter_id']}+{b['encounter_id']}",
        "op_note": "\n".join([*lines_a, pair_separator(), str(b["op_note"])]),
        "icd10": icd10,
        "cpt_lines": list(a.get("cpt_lines") or []) + [line for line in b.get("cpt_lines") or []
                                                       if line["cpt"] not in cpt_a],
        "pair": [a["encounter_id"], b["encounter_id"]],
    }
    if has_evidence:
        out["icd10_evidence"] = evidence
    else:
        out.pop("icd10_evidence", None)
    return out


def pair_notes(records: list[dict], share: float = 0.3, seed: int = 0) -> list[dict]:
    """``round(share * len(records))`` composite records from pairs of distinct notes of ``records`` (the training
    notes); deterministic for a seed. The caller adds them to the training set."""
    if not 0 <= share:
        raise ValueError(f"note-pair share must be >= 0, got {share!r}")
    n_pairs = round(share * len(records))
    if n_pairs and len(records) < 2:
        raise ValueError(f"note-pair augmentation needs at least 2 training notes, got {len(records)}")
    pairs = _pairs(len(records), n_pairs, random.Random(seed))
    return [combine(records[i], records[j]) for i, j in pairs]
