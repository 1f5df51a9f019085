"""Does stopping a verbatim token loop (predict.generation.loop_stop_tokens) change what is scored? On validation notes.

    .venv/bin/python experiments/loop_stop_validation.py [--n 24] [--window 64] [--configurations base rag ft-mini]
    .venv/bin/python experiments/loop_stop_validation.py --paper002     # paper 002's JSON task, its validation charts

Reads a finished default run (results/: the split, the fine-tuning neighbours and code hints, the models, the decoding
chosen on validation). A seeded sample of --n VALIDATION notes (never the test split: this is for choosing a decoding
setting) is answered by each configuration with its own prompt, examples, grammar and generation: as the paper decodes
(to a stop token or the cap), and with each --windows value of the loop stop.
Prints per configuration how many answers had their loop written out, whether every answer's parsed claim (ICD-10-CM
codes, CPT lines, sections: as sets, the scoring's view), every per-case score and the text itself are the same, and
the tokens and seconds spent. The setting may be on for the paper's rows only if nothing changes (docs/decisions.md).
With --paper002: paper 002's configurations (zero-shot, fine-tuned) on the charts its stage holds out of the training
part for validation (results/paper002/data/validation.parquet), with paper002.generation; the claim is compared as
the text and as the parsed JSON claim (claimbench.paper002.schema.parse).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from validation_run import add_run_options, load_run  # noqa: E402


def parsed_view(text: str) -> tuple:
    """The parsed claim as the scoring sees it: code sets, CPT lines as a set, the sections found."""
    from claimbench.evaluation.parse import parse_claim

    claim = parse_claim(text)
    lines = frozenset((line.provider, line.cpt, tuple(sorted(line.modifiers))) for line in claim.cpt_lines)
    return frozenset(claim.icd10), lines, claim.has_icd_section, claim.has_cpt_section


def answer_with_windows(name: str, conf: dict, cases, n_split: int, model_dir, examples, windows, score=None) -> dict:
    """Each loop_stop_tokens value (0 = as the paper decodes, then ``windows``) -> (answer records, prediction meta,
    ``score(predictions file)`` or None), the cases answered by ``conf`` as rule predict would."""
    from claimbench.predict.run import predict_llm

    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for window in (0, *windows):
            variant = {**conf, "generation": {**conf["generation"], "loop_stop_tokens": window}}
            out = Path(tmp) / f"{window}.jsonl"
            meta = predict_llm(name, variant, cases, n_split, out, Path(tmp) / f"{window}.meta.json", model_dir,
                               examples, progress=False)
            records = [json.loads(line) for line in out.read_text().splitlines()]
            runs[window] = (records, meta, score(out) if score else None)
    return runs


def paper002_view(text: str) -> tuple:
    """Paper 002's parsed claim as its scoring reads it: the parse status and the claim itself."""
    from claimbench.paper002.schema import parse

    parsed = parse(text)
    return parsed.error, json.dumps(parsed.claim, sort_keys=True, default=str)


def check_paper002(args, config: dict, results: Path) -> int:
    """--paper002: each configuration as the paper decodes and with each window, on the held-out validation charts."""
    from claimbench.data.io import read_encounters
    from claimbench.plan import paper002 as plan
    from claimbench.plan.layout import Layout

    charts = read_encounters(results / "paper002/data/validation.parquet")
    print(f"paper 002: {len(charts)} validation charts, loop_stop_tokens {args.windows}")
    for name in plan.CONFIGURATIONS:
        model_dir = plan.predict_model_dir(config, name, lambda model: str(results / "models" / model), Layout(str(results)))
        runs = answer_with_windows(name, plan.resolve(config, name), charts, len(charts), model_dir, None, args.windows)
        paper, paper_meta, _ = runs[0]
        for window in args.windows:
            stop, stop_meta, _ = runs[window]
            same_text = sum(a["generated_text"] == b["generated_text"] for a, b in zip(paper, stop))
            same_claim = sum(paper002_view(a["generated_text"]) == paper002_view(b["generated_text"])
                             for a, b in zip(paper, stop))
            seconds = [m["elapsed_seconds"] for m in (paper_meta, stop_meta)]
            print(f"  {name}, loop_stop_tokens {window}: loop written out in {stop_meta['n_loop_written_out']} of "
                  f"{len(stop)} (at the cap without it: {paper_meta['n_hit_max_new_tokens']}); the same parsed claim "
                  f"in {same_claim}, the text in {same_text}; generation {seconds[0]:.0f} s -> {seconds[1]:.0f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(parser, n=24, seed_offset=11, threads=1)
    parser.add_argument("--configurations", nargs="+", default=["base", "rag", "ft-mini"])
    parser.add_argument("--windows", type=int, nargs="+", default=[64], help="loop_stop_tokens values to check")
    parser.add_argument("--paper002", action="store_true", help="paper 002's configurations and validation charts")
    args = parser.parse_args()
    if args.paper002:
        import torch
        import yaml

        torch.set_num_threads(args.threads)
        return check_paper002(args, yaml.safe_load(Path(args.config).read_text()), Path(args.results))

    from claimbench.evaluation.cases import read_predictions, score_cases
    from claimbench.evaluation.validity import ReferenceSets
    from claimbench.predict.decoding import apply_choice
    from claimbench.predict.run import prompt_examples, with_grammar_limits
    from claimbench.plan.layout import Layout
    from claimbench.plan.predict import predict_model_dir, resolve
    from claimbench.prompts import EXAMPLE_KINDS

    run = load_run(args)
    results, config, train, validation, cases, neighbours = (run.results, run.config, run.train, run.validation,
                                                             run.cases, run.neighbours)
    references = ReferenceSets(None, None, None)

    print(f"{len(cases)} validation notes, loop_stop_tokens {args.windows}")
    for name in args.configurations:
        # as rule predict sets it up: decoding chosen on validation (if any), grammar bounds, the prompt's examples
        tuned = config["configurations"][name].get("tune_decoding")
        conf = apply_choice(resolve(config, name), Layout(str(results)).decoding_choice(name) if tuned else None)
        conf = with_grammar_limits(conf, train)
        model_dir = predict_model_dir(config, name, lambda model: str(results / "models" / model), Layout(str(results)))
        shows_examples = conf["method"] == "rag" or conf.get("prompt") in EXAMPLE_KINDS
        examples = prompt_examples(conf.get("prompt"), neighbours, train, Layout(str(results)).code_hints("finetune")) \
            if shows_examples else None
        runs = answer_with_windows(
            name, conf, cases, len(validation), model_dir, examples, args.windows,
            score=lambda out: score_cases(cases, read_predictions(out), references, scorer=None)
            .select_dtypes("number").round(9))
        paper, paper_meta, paper_scores = runs[0]
        for window in args.windows:
            stop, stop_meta, stop_scores = runs[window]
            changed = sum(parsed_view(a["generated_text"]) != parsed_view(b["generated_text"])
                          for a, b in zip(paper, stop))
            same_scores = int((paper_scores.fillna(-1) == stop_scores.fillna(-1)).all(axis=1).sum())
            differ = [(a, b) for a, b in zip(paper, stop) if a["generated_text"] != b["generated_text"]]
            seconds = [m["elapsed_seconds"] for m in (paper_meta, stop_meta)]
            print(f"  {name}, loop_stop_tokens {window}: loop written out in {stop_meta['n_loop_written_out']} of "
                  f"{len(stop)} (at the cap without it: {paper_meta['n_hit_max_new_tokens']}); the same parsed claim "
                  f"in {len(stop) - changed}, every score in {same_scores}, the text in {len(stop) - len(differ)}; "
                  f"generation {seconds[0]:.0f} s -> {seconds[1]:.0f} s")
            for a, b in differ:  # where the model left a loop after the point the stop took it for one
                x, y = a["generated_text"], b["generated_text"]
                at = next((k for k, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
                print(f"    {a['encounter_id']} from character {at}: generated {x[max(at - 40, 0):at + 40]!r}, "
                      f"written out {y[max(at - 40, 0):at + 40]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
