"""Description-grounded coding against knn, measured on VALIDATION notes only (the test split is never read).

    .venv/bin/python experiments/grounding_validation.py [--results results] [--n 40] [--threads 1]
        [--out /tmp/grounding] [--max-examples 48] [--time-embedding 2000]

Reads a finished (or part-finished) default run: its training and validation splits, the validation notes'
embedding neighbours among the training notes (retrieval/finetune_neighbours.parquet) and the converted SmolLM2
(models/smollm2). On a seeded sample of --n validation notes it scores, with the evaluation stage's own code:

- knn: the nearest training note's claim;
- grounded (no LM): the note's lines matched to the code sets (claimbench.grounding.reference), its threshold and
  code count chosen on the *other* validation notes;
- ft-mini+describe: SmolLM2 fine-tuned with the default recipe (finetune section of --config: QLoRA, learning rate
  and early stopping chosen on validation examples) to write descriptions (prompt kind describe), each resolved to
  a valid code (claimbench.grounding.describe): the nearest, the note's or the model's choice among the top
  candidates (claimbench.grounding.choice; --choices); trained and answered once into --out, a second call reuses
  both.

Prints ICD-10-CM / CPT / modifier F1, fabricated codes, how often the CPT codes equal the first example claim's,
and how often the answer's own procedure descriptions name the right operation (claimbench.grounding.copying).
--time-embedding N: also time all-MiniLM-L6-v2 on N ICD-10-CM descriptions (the cost of embedding a code set).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(ROOT / "src"))
for folder in ("experiments", "benchmarks"):  # validation_run.py lives in one of them
    sys.path.insert(0, str(ROOT / folder))

from validation_run import add_run_options, load_run  # noqa: E402

CONFIGURATION = "ft-mini+describe"


def score(run, cases, records: list[dict]) -> dict:
    import pandas as pd

    from claimbench.evaluation.cases import score_cases
    from claimbench.evaluation.metrics import summarize_codes
    from claimbench.evaluation.validity import ReferenceSets

    predictions = pd.DataFrame(records)[["encounter_id", "generated_text"]]
    scored = score_cases(cases, predictions, ReferenceSets(None, None, None), scorer=None)
    f1 = summarize_codes(scored, ("icd10", "cpt", "modifier")).set_index("component")["f1"]
    categories = [len({c[:3] for c in pred} & {c[:3] for c in gold})
                  for pred, gold in zip(scored["pred_icd10"], scored["gold_icd10"])]
    return {"f1": {c: round(float(v), 3) for c, v in f1.items()},
            "fabricated": {c: int(sum(len(x) for x in scored[f"{c}_fabricated_codes"])) for c in ("icd10", "cpt")},
            # how close the ICD-10-CM codes come: written, gold, exact, in a gold code's category (3 characters)
            "icd10_codes": {"written": int(scored["pred_icd10"].map(len).sum()),
                            "gold": int(scored["gold_icd10"].map(len).sum()),
                            "exact": int(sum(len(set(p) & set(g)) for p, g in zip(scored["pred_icd10"],
                                                                                 scored["gold_icd10"]))),
                            "same_category": int(sum(categories))}}


def train_describe(run, out: Path, threads: int, max_examples: int | None) -> tuple[Path, dict]:
    from claimbench.models.finetune import run_finetune
    from claimbench.plan.finetune import finetune_job
    from claimbench.models.merge import merge_adapter

    merged = out / "merged"
    stats = out / "train_stats.json"
    if not (merged / "config.json").exists():
        config = json.loads(json.dumps(run.config))
        config["configurations"][CONFIGURATION] = {"method": "qlora", "model": "smollm2", "prompt": "describe"}
        if max_examples:
            config["finetune"].setdefault("per_configuration", {})[CONFIGURATION] = {
                "data": {"max_examples": max_examples}}
        job = finetune_job(config, CONFIGURATION, str(run.results / "models/smollm2"))
        job.update(train=str(run.results / "data/split/train.parquet"),
                   validation=str(run.results / "data/split/validation.parquet"),
                   adapter_dir=str(out / "adapter"), stats=str(stats), threads=threads)
        run_finetune(job)
        merge_adapter(job["model_dir"], out / "adapter", merged, threads=threads)
    facts = json.loads(stats.read_text())
    return merged, {k: facts.get(k) for k in ("wall_seconds", "train_tokens", "tokens_per_second", "selection",
                                             "n_examples", "data")}


def time_embedding(n: int) -> dict:
    import random

    from claimbench.codesets import icd10cm_descriptions
    from claimbench.retrieval import embed, load_embedder

    texts = sorted(set(icd10cm_descriptions(2025).values()))
    sample = random.Random(0).sample(texts, min(n, len(texts)))
    embedder = load_embedder()
    started = time.perf_counter()
    embed(sample, embedder, batch_size=64)
    rate = len(sample) / (time.perf_counter() - started)
    return {"descriptions": len(sample), "per_second": round(rate, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(parser, n=40, seed_offset=11, threads=1)
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "grounding"))
    parser.add_argument("--max-examples", type=int, default=None, help="fine-tuning examples (default: config's)")
    parser.add_argument("--shortlist", type=int, default=32)
    parser.add_argument("--time-embedding", type=int, default=0)
    parser.add_argument("--no-reference", action="store_true", help="skip the no-LM reference's measurement")
    parser.add_argument("--choices", nargs="+", default=None, help="final code choices to measure (default: all)")
    args = parser.parse_args()

    import pandas as pd

    from claimbench.claim import Claim, render_claim
    from claimbench.grounding.codeset_index import build_codesets, case_years, years_needed
    from claimbench.grounding.copying import copy_table
    from claimbench.grounding.predict import CHOICES, ground_records
    from claimbench.grounding.reference import chosen_settings, rank_cases, reference_claims
    from claimbench.grounding.reference_selection import select_settings
    from claimbench.grounding.resolve import Resolver
    from claimbench.predict.run import predict_llm
    from claimbench.plan.predict import resolve
    from claimbench.retrieval import load_embedder

    run = load_run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cases = run.cases
    ids = cases["encounter_id"].astype(str).tolist()
    others = run.validation[~run.validation["encounter_id"].astype(str).isin(ids)].reset_index(drop=True)
    report: dict = {"n_validation_notes": len(ids), "case_ids": ids}
    if args.time_embedding:
        report["embedding_rate"] = time_embedding(args.time_embedding)
        print("all-MiniLM-L6-v2 on ICD-10-CM descriptions:", report["embedding_rate"])

    embedder = load_embedder()
    started = time.perf_counter()
    codesets, facts = build_codesets(years_needed(pd.concat([run.train, run.validation])), embedder)
    resolvers = {s: Resolver(cs, embedder, args.shortlist) for s, cs in codesets.items()}
    report["codesets"] = {**facts, "seconds": round(time.perf_counter() - started, 1)}

    train_claims = {str(r["encounter_id"]): render_claim(Claim.from_record(r)) for r in run.train.to_dict("records")}
    first = {eid: run.neighbours[eid][0] for eid in ids}
    answers = {"knn": [{"encounter_id": eid, "generated_text": train_claims[first[eid]]} for eid in ids]}

    if not args.no_reference:
        started = time.perf_counter()
        chosen = select_settings(others, rank_cases(others, resolvers))
        claims = reference_claims(cases, rank_cases(cases, resolvers), chosen_settings(chosen))
        answers["grounded (no LM)"] = [{"encounter_id": eid, "generated_text": render_claim(c)}
                                       for eid, c in zip(ids, claims)]
        report["reference"] = {"chosen_on_other_validation_notes": chosen["chosen"],
                               "seconds": round(time.perf_counter() - started, 1)}

    merged, training = train_describe(run, out, args.threads, args.max_examples)
    report["training"] = training
    conf = resolve({**run.config, "configurations": {CONFIGURATION: {"method": "qlora", "model": "smollm2",
                                                                   "prompt": "describe"}}}, CONFIGURATION)
    path = out / "describe.jsonl"
    if not path.exists():  # the answers of an earlier call are reused
        predict_llm(CONFIGURATION, conf, cases, len(run.validation), path, path.with_suffix(".meta.json"),
                           merged, None, progress=False)
    report["generation_seconds"] = json.loads(path.with_suffix(".meta.json").read_text()).get("elapsed_seconds")
    for choice in args.choices or CHOICES:
        records = [json.loads(line) for line in path.read_text().splitlines()]
        started = time.perf_counter()
        ground_records(records, cases, resolvers, 5, choice, merged, conf.get("load"))
        report[f"resolution_seconds_{choice}"] = round(time.perf_counter() - started, 1)
        answers[f"{CONFIGURATION} ({choice})"] = records

    years = case_years(cases)[1]
    year_of = dict(zip(ids, years))

    def resolve_cpt(descriptions, eid):
        return [c[0].code for c in resolvers["cpt"].rank([[d] for d in descriptions], year_of[eid], 1) if c]

    copying = {row["configuration"]: row for row in copy_table(answers, cases, first, run.train, resolve_cpt)}
    report["rows"] = {}
    for name, records in answers.items():
        row = {**score(run, cases, records), **{k: v for k, v in copying[name].items() if k != "copied_cases"}}
        report["rows"][name] = row
        f1 = row["f1"]
        print(f"{name:20s} F1 ICD-10-CM {f1['icd10']:.2f}  CPT {f1['cpt']:.2f}  modifier {f1['modifier']:.2f}; "
              f"fabricated {row['fabricated']}; CPT = first example claim's in {row['cpt_copied']} "
              f"({row['copied_and_right']} right); names the operation in {row.get('names_operation')} of "
              f"{row.get('answers_describing')}; ICD-10-CM codes {row['icd10_codes']}")
    (out / "answers.json").write_text(json.dumps(answers, indent=1) + "\n")
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in ("rows", "case_ids")}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
