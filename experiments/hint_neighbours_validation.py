"""Whose claims a rag_lexicon model should see when it answers: embedding vs TF-IDF neighbours, on validation notes.

    .venv/bin/python experiments/hint_neighbours_validation.py [--n 40] [--configuration ft-mini+lexicon+grammar]
        [--merged DIR --hints FILE]   # another adapter, e.g. one trained with retrieval.training_hint_neighbours

Reads a finished default run (results/): the split, the fine-tuning neighbours (embedding), the hint file of rule
finetune_code_hints and the configuration's merged model. A seeded sample of --n VALIDATION notes (never the test
split: this is for choosing) is answered twice with the configuration's own prompt, generation and grammar, once
showing the claims of each note's embedding neighbours (the paper's retrieval) and once those of its TF-IDF
neighbours (claimbench.lexicon.LexicalNeighbours). Prints per variant ICD-10-CM / CPT / modifier F1 (as the
evaluation stage scores) and how often the answer's CPT codes are exactly its first example claim's: the model copies
that claim's CPT lines, so the better first neighbour gives the better CPT. docs/decisions.md has the measured table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from validation_run import add_run_options, load_run, score_answers  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(parser, n=40, seed_offset=7, threads=2)
    parser.add_argument("--configuration", default="ft-mini+lexicon+grammar")
    parser.add_argument("--merged", help="merged model folder (default: the configuration's, from --results)")
    parser.add_argument("--hints", help="hint file (default: --results' finetune_code_hints.parquet)")
    args = parser.parse_args()

    import pandas as pd

    from claimbench.evaluation.cases import read_predictions
    from claimbench.lexicon import LexicalNeighbours
    from claimbench.predict.run import predict_llm, prompt_examples, with_grammar_limits
    from claimbench.plan.predict import resolve, trained_configuration

    run = load_run(args)
    results, config, train, validation, cases, k = run.results, run.config, run.train, run.validation, run.cases, run.k
    ids = cases["encounter_id"].astype(str).tolist()
    embedding = run.neighbours
    lexical = dict(zip(ids, LexicalNeighbours(train["encounter_id"].tolist(), train["op_note"].tolist())
                       .nearest(ids, cases["op_note"].tolist(), k)))
    # the hint blocks only: a hint file's own lexical neighbours would override the variant measured
    hints = pd.read_parquet(args.hints or results / "retrieval/finetune_code_hints.parquet")[["encounter_id", "hints"]]
    conf = with_grammar_limits(resolve(config, args.configuration), train)
    model_dir = args.merged or results / "finetune" / trained_configuration(config, args.configuration) / "merged"

    print(f"{args.configuration}, {len(cases)} validation notes, model {model_dir}")
    for name, neighbours in (("embedding", embedding), ("TF-IDF", lexical)):
        shown = {eid: neighbours[eid] for eid in ids}
        with tempfile.TemporaryDirectory() as tmp:
            hints.to_parquet(Path(tmp) / "hints.parquet")
            examples = prompt_examples(conf.get("prompt"), shown, train, Path(tmp) / "hints.parquet")
            out = Path(tmp) / "predictions.jsonl"
            predict_llm(args.configuration, conf, cases, len(validation), out, Path(tmp) / "meta.json", model_dir,
                        examples, progress=False)
            predictions = read_predictions(out)
        score = score_answers(run, predictions, shown)
        f1 = score["f1"]
        print(f"  {name:9s} neighbours: F1 ICD-10-CM {f1['icd10']:.2f}  CPT {f1['cpt']:.2f}  modifier "
              f"{f1['modifier']:.2f}; CPT codes = the first example claim's in "
              f"{score['cpt_copied_from_first_example']} of {len(cases)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
