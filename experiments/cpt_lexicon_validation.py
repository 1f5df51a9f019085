"""Would a CPT lexicon from the coders' rationales help? No language model; on VALIDATION notes only.

    .venv/bin/python experiments/cpt_lexicon_validation.py [--results results] [--n 80] [--max-share 0.2]

The ICD-10-CM hints come from the phrases coders cited (icd10_evidence). A CPT line's rationale ("Knee arthroscopy
with all-inside meniscus repair documented (RT: right side).") is read here the same way: its quote is the longest
run of its words (parentheses dropped) that the note contains, and a quote found in more than --max-share of the
training notes is boilerplate (the ASSISTANT(S) heading) and dropped. The training split's quotes and codes make a
claimbench.lexicon.CodeLexicon. Prints, over a seeded sample of validation notes, the CPT F1 (micro, over code
sets) of the codes taken from: the first TF-IDF neighbour (knn+lexicon's CPT), the first TF-IDF neighbour whose
claim holds every hinted code, the hinted codes else the first neighbour, and the hinted codes alone; and how often
a hint adds a code missing from the first neighbour's claim, on validation notes and on training notes with their
own rationales left out (what fine-tuning prompts would show). docs/decisions.md has the measured figures.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from validation_run import add_run_options  # noqa: E402

WORD = re.compile(r"[a-z0-9][a-z0-9'\-/]*")


def words(text: str) -> str:
    """Lower-case words joined by single spaces and padded, so ' phrase ' finds whole words."""
    return " " + " ".join(WORD.findall(str(text).lower())) + " "


def quote(rationale: str, note_words: str) -> str:
    """The longest run of the rationale's words (parentheses dropped) that the note contains; '' if none."""
    tokens = WORD.findall(re.sub(r"\([^)]*\)", " ", str(rationale)).lower())
    best = ""
    for i in range(len(tokens)):
        for j in range(len(tokens), i, -1):
            candidate = " ".join(tokens[i:j])
            if len(candidate) <= len(best):
                break
            if f" {candidate} " in note_words:
                best = candidate
                break
    return best


def cpt_lexicon(train, max_share: float):
    from claimbench.lexicon import CodeLexicon

    records, notes = [], [words(n) for n in train["op_note"]]
    for row, note in zip(train.to_dict("records"), notes):
        pairs = [{"code": line["cpt"], "text": quote(line.get("rationale") or "", note)} for line in row["cpt_lines"]]
        records.append({"encounter_id": row["encounter_id"], "icd10_evidence": [p for p in pairs if p["text"]]})
    lexicon = CodeLexicon.from_records(records)
    boilerplate = [p for p in lexicon.counts if sum(f" {p} " in n for n in notes) > max_share * len(notes)]
    for phrase in boilerplate:
        del lexicon.counts[phrase]
    lexicon.own = {eid: [(p, c) for p, c in pairs if p not in boilerplate] for eid, pairs in lexicon.own.items()}
    return lexicon, boilerplate


def micro_f1(pairs) -> float:
    tp = fp = fn = 0
    for gold, predicted in pairs:
        tp, fp, fn = tp + len(gold & predicted), fp + len(predicted - gold), fn + len(gold - predicted)
    return 2 * tp / max(2 * tp + fp + fn, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(parser, n=80, seed_offset=7, threads=1)
    parser.add_argument("--max-share", type=float, default=0.2)
    args = parser.parse_args()

    import numpy as np
    import yaml

    from claimbench.data.io import read_encounters
    from claimbench.lexicon import LexicalNeighbours, best_codes
    from claimbench.predict.run import select_cases

    results = Path(args.results)
    config = yaml.safe_load(Path(args.config).read_text())
    train = read_encounters(results / "data/split/train.parquet")
    cases = select_cases(read_encounters(results / "data/split/validation.parquet"), args.n,
                         int(config["seed"]) + args.seed_offset)
    lexicon, dropped = cpt_lexicon(train, args.max_share)
    codes = {str(r["encounter_id"]): {line["cpt"] for line in r["cpt_lines"]} for r in train.to_dict("records")}
    index = LexicalNeighbours(train["encounter_id"].tolist(), train["op_note"].tolist())
    similarity = (index.vectorizer.transform(cases["op_note"].astype(str).tolist()) @ index.matrix.T).toarray()

    rows = {"first TF-IDF neighbour": [], "first neighbour holding every hinted code": [],
            "hinted codes, else first neighbour": [], "hinted codes alone": []}
    with_hint = adds = adds_right = 0
    for row, sims in zip(cases.to_dict("records"), similarity):
        gold = {line["cpt"] for line in row["cpt_lines"]}
        hinted = set(best_codes(lexicon.hints(row["op_note"])))
        order = [index.ids[j] for j in np.argsort(-sims, kind="stable")]
        covering = [j for j in order if hinted and codes[j] >= hinted]
        first = codes[order[0]]
        rows["first TF-IDF neighbour"].append((gold, first))
        rows["first neighbour holding every hinted code"].append((gold, codes[(covering or order)[0]]))
        rows["hinted codes, else first neighbour"].append((gold, hinted or first))
        rows["hinted codes alone"].append((gold, hinted))
        with_hint += bool(hinted)
        adds += bool(hinted - first)
        adds_right += bool((hinted - first) & gold)

    print(f"CPT lexicon: {len(lexicon.counts)} phrases from {len(train)} training notes (dropped as boilerplate: "
          f"{dropped}); {len(cases)} validation notes, {with_hint} with a hint")
    for name, pairs in rows.items():
        print(f"  {name:45s} CPT F1 {micro_f1(pairs):.3f}")
    print(f"  a hint adds a code missing from the first neighbour's claim: {adds} validation notes ({adds_right} right)")
    # training notes, their own rationales left out: what a fine-tuning prompt with CPT hints would show
    import pandas as pd

    embedding = pd.read_parquet(results / "retrieval/finetune_neighbours.parquet")
    nearest = embedding[(embedding["rank"] == 1) & (embedding["split"] == "train")]
    nearest = dict(zip(nearest["encounter_id"].astype(str), nearest["neighbour_id"].astype(str)))
    train_adds = 0
    for row in train.to_dict("records"):
        eid = str(row["encounter_id"])
        hinted = set(best_codes(lexicon.hints(row["op_note"], eid)))
        train_adds += bool(hinted - codes.get(nearest.get(eid), set()))
    print(f"  training notes (own rationales left out) whose hint adds a code missing from their first embedding "
          f"neighbour's claim: {train_adds} of {len(train)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
