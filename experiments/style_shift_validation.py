"""Style shift without a language model: knn and knn+lexicon F1 on the VALIDATION notes as the extract writes them and
as the held-out phrasing bank writes them (the same encounters, the same gold codes), for extracts written with each
given phrasing bank (claimbench.data.phrasing): ``plain`` (the policy's one or two fixed forms per concept) and
``training`` (the default extract's bank).

The extract is generated here as rule generate_synthetic does (config data.synthetic, the config seed) and split as
rule split_encounters does; knn is the nearest training note's claim by all-MiniLM-L6-v2 embeddings (configuration
knn); knn+lexicon is the nearest training note by TF-IDF with ICD-10-CM codes from the training split's lexicon and
the note's side (configuration knn+lexicon, with config retrieval.hint_neighbours / side_hints). The test split is
never read: each extract's validation notes are the cases.

    PYTHONPATH=src .venv/bin/python experiments/style_shift_validation.py [--banks plain training] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from validation_run import ROOT, ValidationRun, score_answers


def split_extract(config: dict, bank: str):
    """(train, validation, validation with its held-out notes) of the extract written with ``bank``."""
    import pandas as pd

    from claimbench.data.io import read_encounters, write_encounters
    from claimbench.data.shift import with_shifted_notes
    from claimbench.data.split import assign_splits
    from claimbench.data.synthetic import SyntheticSettings, generate_extract_and_shift

    synthetic = {**config["data"].get("synthetic", {}), "phrasing": bank}
    settings = SyntheticSettings.from_config(synthetic, seed=int(config["seed"]))
    records, choices, shifted = generate_extract_and_shift(settings, config["codesets"].get("cpt_catalog"),
                                                           config["codesets"].get("icd10cm_files") or {})
    for record, choice in zip(records, choices):
        record["fiscal_year"] = choice["fiscal_year"]
    with tempfile.TemporaryDirectory() as folder:  # the pipeline's own Parquet round trip (list columns, evidence)
        write_encounters(records, Path(folder) / "extract.parquet")
        frame = read_encounters(Path(folder) / "extract.parquet")
    labels = assign_splits(frame, config["data"]["split"], seed=int(config["seed"]))
    train = frame[labels == "train"].reset_index(drop=True)
    validation = frame[labels == "validation"].reset_index(drop=True)
    return train, validation, with_shifted_notes(validation, pd.DataFrame(shifted))


def answers(queries, examples: dict):
    import pandas as pd

    ids = queries["encounter_id"].astype(str).tolist()
    return pd.DataFrame({"encounter_id": ids, "generated_text": [examples[eid][0] for eid in ids]})


def measure(config: dict, bank: str, embedder) -> dict:
    from claimbench.lexicon import CodeLexicon, LexicalNeighbours
    from claimbench.predict.run import example_claims, lexicon_claims
    from claimbench.retrieval import build_index, embed, search

    retrieval = config["retrieval"]
    train, validation, shifted = split_extract(config, bank)
    train_ids = train["encounter_id"].astype(str).tolist()
    index = build_index(embed(train["op_note"].tolist(), embedder, batch_size=int(retrieval.get("batch_size", 32))))
    tfidf = LexicalNeighbours(train_ids, train["op_note"].tolist())
    lexicon = CodeLexicon.from_records(train.to_dict("records"))
    cms_files = config["codesets"].get("icd10cm_files") or {}
    out = {}
    for notes_name, queries in (("normal", validation), ("shifted", shifted)):
        ids = queries["encounter_id"].astype(str).tolist()
        _, rows = search(index, embed(queries["op_note"].tolist(), embedder), 1)
        nearest = {eid: [train_ids[row[0]]] for eid, row in zip(ids, rows)}
        lexical = dict(zip(ids, tfidf.nearest(ids, queries["op_note"].tolist(), 1)))
        run = ValidationRun(None, config, train, validation, queries, nearest, 1)
        knn = score_answers(run, answers(queries, example_claims(nearest, train)), nearest)
        lex = score_answers(run, answers(queries, lexicon_claims(lexical, train, queries, retrieval["side_hints"],
                                                                 cms_files)), lexical)
        found = sum(bool(lexicon.hints(note, eid)) for eid, note in zip(ids, queries["op_note"]))
        out[notes_name] = {"knn": knn["f1"], "knn+lexicon": lex["f1"], "notes_with_a_lexicon_phrase": found,
                           "n_notes": len(ids)}
    return out


def main(argv=None) -> int:
    import torch
    import yaml

    from claimbench.retrieval import load_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--banks", nargs="+", default=["plain", "training"], help="phrasing banks of the extract")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = yaml.safe_load(Path(args.config).read_text())
    embedder = load_embedder(config["retrieval"].get("embedder"))
    figures = {}
    for bank in args.banks:
        started = time.perf_counter()
        figures[bank] = measure(config, bank, embedder)
        figures[bank]["seconds"] = round(time.perf_counter() - started, 1)
        print(bank, json.dumps(figures[bank]), flush=True)
    print("\nextract bank | configuration | notes | ICD-10-CM F1 | CPT F1 | modifier F1")
    for bank, by_notes in figures.items():
        for name in ("knn", "knn+lexicon"):
            for notes in ("normal", "shifted"):
                f1 = by_notes[notes][name]
                print(f"{bank} | {name} | {notes} | {f1['icd10']:.2f} | {f1['cpt']:.2f} | {f1['modifier']:.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
