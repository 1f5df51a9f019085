"""The claim grammar's effect on codes: rag with and without grammar-constrained decoding on validation cases.

    .venv/bin/python experiments/claim_grammar_validation.py [--n 10] [--model results/models/smollm2]

Reads the workflow's outputs (results/data/split/{train,validation}.parquet, results/retrieval/train.faiss and
train_embeddings.npz, results/models/smollm2): a seeded sample of --n VALIDATION cases (never the test split: this
is for choosing), their k nearest training notes' claims in the paper's RAG prompt, greedy generation unconstrained
and under the claim grammar, scored as the evaluation stage scores (parse, per-case precision/recall, validity).
Prints per configuration: parseable claims, ICD-10-CM / CPT / modifier F1, fabricated shares, seconds per case.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(ROOT / "results"))
    parser.add_argument("--model", default=str(ROOT / "results/models/smollm2"))
    parser.add_argument("--n", type=int, default=10, help="validation cases (seeded sample)")
    parser.add_argument("--k", type=int, default=2, help="neighbours in the RAG prompt (the paper's two)")
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20240812)
    parser.add_argument("--only", choices=["rag", "rag+grammar"], help="run one of the two")
    parser.add_argument("--grammar", default="{}", help='GrammarLimits overrides as JSON, e.g. {"max_providers": 2}')
    args = parser.parse_args()

    import pandas as pd
    import torch

    from claimbench.data.io import read_encounters
    from claimbench.evaluation.cases import score_cases
    from claimbench.evaluation.metrics import summarize_codes
    from claimbench.evaluation.validity import ReferenceSets, summarize_validity
    from claimbench.models.generation import GenerationSettings, generate
    from claimbench.models.loading import load_for_inference
    from claimbench.predict.run import case_grammars, example_claims, select_cases
    from claimbench.prompts import build_prompt, detect_family
    from claimbench.retrieval import embed, load_embedder, load_embeddings, neighbour_ids, neighbours_table
    from claimbench.retrieval import read_index, search

    torch.set_num_threads(args.threads)
    results = Path(args.results)
    train = read_encounters(results / "data/split/train.parquet")
    cases = select_cases(read_encounters(results / "data/split/validation.parquet"), args.n, args.seed)
    train_ids, _ = load_embeddings(results / "retrieval/train_embeddings.npz")
    queries = embed(list(cases["op_note"]), load_embedder(None))
    distances, rows = search(read_index(results / "retrieval/train.faiss"), queries, args.k)
    ids = list(cases["encounter_id"].astype(str))
    examples = example_claims(neighbour_ids(neighbours_table(ids, train_ids, distances, rows), args.k), train)

    model, tokenizer = load_for_inference(args.model)
    family = detect_family(args.model)
    prompts = [build_prompt("rag", note, examples=examples[eid], family=family, tokenizer=tokenizer)
               for eid, note in zip(ids, cases["op_note"])]
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens)
    refs = ReferenceSets()
    print(f"{len(ids)} validation cases (of {len(train)} training notes' neighbours), SmolLM2 {args.model}, "
          f"greedy, up to {args.max_new_tokens} new tokens, torch threads {args.threads}")
    for label, constrained in (("rag", False), ("rag+grammar", True)):
        if args.only and label != args.only:
            continue
        grammars, facts = (None, {})
        if constrained:
            grammars, facts = case_grammars({"constrained": "claim_grammar", "grammar": json.loads(args.grammar)},
                                            cases, model, tokenizer)
            print(f"grammar limits: {facts['grammar_limits']}")
        start = time.perf_counter()
        out = sorted((r for batch in generate(model, tokenizer, prompts, settings, progress=False, grammars=grammars)
                      for r in batch), key=lambda r: r.index)
        seconds = time.perf_counter() - start
        predictions = pd.DataFrame({"encounter_id": ids, "generated_text": [r.text for r in out]})
        scored = score_cases(cases, predictions, refs, None)
        codes = summarize_codes(scored).set_index("component")
        validity = summarize_validity(scored).set_index("component")
        layout = (scored["has_icd_section"] & (scored["n_cpt_lines"] > 0)).mean()
        print(f"\n{label}: {seconds:.0f} s generation ({seconds / len(ids):.1f} s a case, "
              f"{sum(r.n_new_tokens for r in out)} new tokens, {sum(r.n_new_tokens >= args.max_new_tokens for r in out)}"
              f" at the cap)" + (f"; grammars {facts['grammar_seconds']:.1f} s for "
                                  f"{len(facts['grammar_builds'])} fiscal year(s)" if facts else ""))
        print(f"   claim layout (ICD section and a CPT line): {layout:.0%}")
        for component in ("icd10", "cpt", "modifier"):
            row = codes.loc[component]
            fabricated = validity.loc[component, "fabricated"] if component in validity.index else float("nan")
            print(f"   {component:8s} F1 {row.f1:.2f} (P {row.precision:.2f}, R {row.recall:.2f}); "
                  f"fabricated {fabricated:.0%} of {int(validity.loc[component, 'n_generated'])} codes"
                  if component in validity.index else f"   {component:8s} F1 {row.f1:.2f}")
        print("   first answer:", repr(out[0].text[:300]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
