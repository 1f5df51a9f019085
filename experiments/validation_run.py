"""What the validation experiments share (hint_neighbours_validation.py, loop_stop_validation.py,
cpt_layout_validation.py): options naming a finished run and a seeded sample of its VALIDATION notes, loading them,
and scoring answers to them. The test split is never read here: these scripts are for choosing settings."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def add_run_options(parser: argparse.ArgumentParser, n: int, seed_offset: int, threads: int) -> None:
    parser.add_argument("--results", default=str(ROOT / "results"))
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--n", type=int, default=n, help="validation notes (seeded sample)")
    parser.add_argument("--seed-offset", type=int, default=seed_offset, help="sample seed = config seed + this")
    parser.add_argument("--threads", type=int, default=threads)


@dataclass
class ValidationRun:
    results: Path
    config: dict
    train: object  # pandas.DataFrame of the training split
    validation: object  # the whole validation split
    cases: object  # the seeded sample of it
    neighbours: dict  # validation note -> its embedding neighbours among the training notes (retrieval.k)
    k: int


def load_run(args: argparse.Namespace) -> ValidationRun:
    import pandas as pd
    import torch
    import yaml

    from claimbench.data.io import read_encounters
    from claimbench.predict.run import select_cases
    from claimbench.retrieval import neighbour_ids

    torch.set_num_threads(args.threads)
    results = Path(args.results)
    config = yaml.safe_load(Path(args.config).read_text())
    train = read_encounters(results / "data/split/train.parquet")
    validation = read_encounters(results / "data/split/validation.parquet")
    cases = select_cases(validation, args.n, int(config["seed"]) + args.seed_offset)
    table = pd.read_parquet(results / "retrieval/finetune_neighbours.parquet")
    k = int(config["retrieval"].get("k", 2))
    neighbours = neighbour_ids(table[table["split"] == "validation"], k)
    return ValidationRun(results, config, train, validation, cases, neighbours, k)


def score_answers(run: ValidationRun, predictions, shown: dict) -> dict:
    """Answers to ``run.cases`` (encounter_id, generated_text) scored as the evaluation stage scores them: F1 per
    component (claimbench.evaluation.metrics.summarize_codes), how many answers hold a CPT code, and how many give
    exactly the CPT codes of their first example claim (``shown``: note -> the neighbours whose claims it saw)."""
    from claimbench.evaluation.cases import score_cases
    from claimbench.evaluation.metrics import summarize_codes
    from claimbench.evaluation.parse import parse_claim
    from claimbench.evaluation.validity import ReferenceSets

    scored = score_cases(run.cases, predictions, ReferenceSets(None, None, None), scorer=None)
    f1 = summarize_codes(scored, ("icd10", "cpt", "modifier")).set_index("component")["f1"]
    claims = run.train.set_index("encounter_id")["cpt_lines"]
    cpt = {eid: set(parse_claim(text).cpt_codes)
           for eid, text in zip(predictions["encounter_id"], predictions["generated_text"])}
    return {"f1": {c: round(float(v), 3) for c, v in f1.items()},
            "answers_with_a_cpt_code": sum(bool(codes) for codes in cpt.values()),
            "cpt_copied_from_first_example": sum(codes == {line["cpt"] for line in claims[shown[eid][0]]}
                                                 for eid, codes in cpt.items())}
