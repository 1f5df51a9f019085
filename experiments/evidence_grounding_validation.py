"""grounded+evidence against knn and knn+lexicon on VALIDATION notes, as the extract writes them and as the held-out
phrasing bank writes them (the same encounters, the same gold codes). The test split is never read.

The extract is generated and split as rules generate_synthetic and split_encounters do (config data.synthetic, the
config seed; experiments/style_shift_validation.py). grounded+evidence's settings (neighbours per clause, threshold,
code count) are chosen on the first half of the validation notes, as rule select_grounding_reference chooses them on
all of them (claimbench.grounding.evidence.select_settings); every row is then scored on the second half, normal and
style-shifted. ``--results``: a run whose code-set index (rule codeset_index) to read.

    PYTHONPATH=src .venv/bin/python experiments/evidence_grounding_validation.py --results results [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from style_shift_validation import answers, split_extract
from validation_run import ROOT, ValidationRun, score_answers


def f1_of(cases, texts) -> dict:
    import pandas as pd

    from claimbench.evaluation.cases import score_cases
    from claimbench.evaluation.metrics import summarize_codes
    from claimbench.evaluation.validity import ReferenceSets

    predictions = pd.DataFrame({"encounter_id": cases["encounter_id"].astype(str).tolist(), "generated_text": texts})
    f1 = summarize_codes(score_cases(cases, predictions, ReferenceSets(None, None, None), scorer=None),
                         ("icd10", "cpt", "modifier")).set_index("component")["f1"]
    return {c: round(float(v), 3) for c, v in f1.items()}


def main(argv=None) -> int:
    import torch
    import yaml

    from claimbench.claim import render_claim
    from claimbench.grounding.evidence import EvidenceCoder, chosen_settings, select_settings
    from claimbench.lexicon import LexicalNeighbours
    from claimbench.plan.grounding import grounding_settings
    from claimbench.predict.run import example_claims, lexicon_claims
    from claimbench.retrieval import build_index, embed, load_embedder, search

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(ROOT / "results"))
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    config = yaml.safe_load(Path(args.config).read_text())
    train, validation, shifted = split_extract(config, config["data"].get("synthetic", {}).get("phrasing", "training"))
    half = len(validation) // 2
    choose = validation.iloc[:half].reset_index(drop=True)
    held = {"normal": validation.iloc[half:].reset_index(drop=True), "shifted": shifted.iloc[half:].reset_index(drop=True)}

    coder = EvidenceCoder(Path(args.results) / "grounding/codeset_index.npz", grounding_settings(config),
                          config.get("codesets"), train=train)
    record = select_settings(coder, choose)
    chosen = chosen_settings(record)
    print("chosen on", half, "validation notes:", json.dumps(record["chosen"]), flush=True)

    embedder = load_embedder(config["retrieval"].get("embedder"))
    train_ids = train["encounter_id"].astype(str).tolist()
    index = build_index(embed(train["op_note"].tolist(), embedder))
    tfidf = LexicalNeighbours(train_ids, train["op_note"].tolist())
    figures = {}
    for notes, cases in held.items():
        ids = cases["encounter_id"].astype(str).tolist()
        _, rows = search(index, embed(cases["op_note"].tolist(), embedder), 1)
        nearest = {eid: [train_ids[row[0]]] for eid, row in zip(ids, rows)}
        lexical = dict(zip(ids, tfidf.nearest(ids, cases["op_note"].tolist(), 1)))
        run = ValidationRun(None, config, train, validation, cases, nearest, 1)
        scores = coder.scores(cases, sorted({s.k for s in chosen.values()}))
        figures[notes] = {
            "knn": score_answers(run, answers(cases, example_claims(nearest, train)), nearest)["f1"],
            "knn+lexicon": score_answers(run, answers(cases, lexicon_claims(
                lexical, train, cases, config["retrieval"]["side_hints"],
                config["codesets"].get("icd10cm_files") or {})), lexical)["f1"],
            "grounded+evidence": f1_of(cases, [render_claim(c) for c in coder.claims(cases, scores, chosen)]),
        }
    print(f"\n{len(held['normal'])} validation notes | configuration | ICD-10-CM F1 normal / shifted | CPT F1 normal / "
          "shifted | modifier F1 normal / shifted")
    for name in figures["normal"]:
        cells = [f"{figures['normal'][name][c]:.2f} / {figures['shifted'][name][c]:.2f}"
                 for c in ("icd10", "cpt", "modifier")]
        print(f"{name} | " + " | ".join(cells))
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.out:
        Path(args.out).write_text(json.dumps({"chosen": record["chosen"], "f1": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
