"""Does a claim layout with each CPT line's description before its code help? Measured on VALIDATION notes only.

    .venv/bin/python experiments/cpt_layout_validation.py [--results results] [--n 40] [--out /tmp/cpt_layout]
        [--configuration ft-mini+lexicon] [--decode-as ft-mini+lexicon+grammar] [--reference-merged DIR]

This layout is an extra worth measuring: a model that writes "Description: <procedure> | Code: <cpt>"
names the procedure in words before it chooses a code, instead of choosing the code first (the paper's layout,
claimbench.claim.render_claim: "CPT 1: <cpt> | Modifiers: ... | Description: ..."). The model could then map the
note's procedure to a code rather than copy its first example claim's codes, which ft-mini+lexicon does (docs).

Reads a finished default run (results/): its split, fine-tuning neighbours and hint file, and the configuration's
merged model (the reference: the paper's layout). Fine-tunes the same configuration once more with the same recipe,
seed, examples, neighbours and hints (learning rate and early stopping chosen on validation examples, as the
pipeline does), every claim (training completions and example claims alike) written in the description-first layout,
and merges it into --out (a second call reuses it). Then a seeded sample of --n validation notes is answered by both
models with the configuration's prompt and its decoding settings as the run chose them on validation notes:
unconstrained, or with --decode-as a configuration that predicts with the same model under the claim grammar, whose
CPT line rule is then rewritten description first for the new model (the same code sets). A
description-first answer is put back into the paper's layout before it is parsed (the parser reads a line's code
before its "Description:" field), so both are scored by the evaluation stage's own code. Prints ICD-10-CM / CPT /
modifier F1 and how often the answer's CPT codes are exactly its first example claim's.

The layout is measured here, not built into the pipeline: docs/decisions.md has the figures and why.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from validation_run import add_run_options, load_run, score_answers  # noqa: E402

from claimbench.models.claim_grammar import claim_ebnf as _PAPER_EBNF  # noqa: E402 (use_layout puts it back)

# "CPT 2: Description: Cataract removal | Code: 66984 | Modifiers: RT" -> groups lead, description, code, modifiers
DESCRIPTION_FIRST_LINE = re.compile(
    r"^(?P<lead>[ \t]*CPT[ \t]+\d+:[ \t]*)Description:[ \t]*(?P<description>[^|\n]*?)[ \t]*\|[ \t]*"
    r"Code:[ \t]*(?P<code>[^|\n]*?)(?:[ \t]*\|[ \t]*Modifiers:[ \t]?(?P<modifiers>[^|\n]*?))?[ \t]*$",
    re.MULTILINE,
)


def render_description_first(claim, segment_tokens=None) -> str:
    """render_claim's claim with each CPT line written description first (segment tokens not supported)."""
    from claimbench.claim import render_claim

    if segment_tokens:
        raise ValueError("the description-first layout is measured on chat-template models only")
    text = render_claim(claim) + "\n"  # its last line has no newline of its own
    for line in claim.cpt_lines:
        old = f"{line.cpt} | Modifiers: {', '.join(line.modifiers)} | Description: {line.description}\n"
        new = f"Description: {line.description} | Code: {line.cpt} | Modifiers: {', '.join(line.modifiers)}\n"
        text = text.replace(old, new)
    return text.rstrip("\n")


def to_paper_layout(text: str) -> str:
    """A description-first answer's CPT lines in the paper's layout, so that parse_claim reads their codes."""
    return DESCRIPTION_FIRST_LINE.sub(
        lambda m: f"{m['lead']}{m['code']} | Modifiers: {m['modifiers'] or ''} | Description: {m['description']}", text)


def description_first_ebnf(*args, **kwargs) -> str:
    """claim_grammar.claim_ebnf with its CPT line rule written description first (the same code, modifier and
    description rules): "Description: <text> | Code: <cpt> | Modifiers: <mod>, ..."."""

    def line_rule(m: re.Match) -> str:
        return (f'line ::= "Description: " description " | Code: " {m["cpt"]} " | Modifiers: " {m["mods"]}')

    ebnf = _PAPER_EBNF(*args, **kwargs)
    new, count = re.subn(r'^line ::= (?P<cpt>\S+) " \| Modifiers: " (?P<mods>.*) " \| Description: " description$',
                         line_rule, ebnf, flags=re.MULTILINE)
    if count != 1:
        raise RuntimeError("claim_ebnf's CPT line rule changed: update description_first_ebnf")
    return new


def use_layout(description_first: bool) -> None:
    """Every claim the pipeline renders for prompts and completions, and the claim grammar, in this layout."""
    import claimbench.models.claim_grammar
    import claimbench.predict.run
    import claimbench.prompts
    from claimbench.claim import render_claim

    render = render_description_first if description_first else render_claim
    claimbench.prompts.render_claim = render
    claimbench.predict.run.render_claim = render
    claimbench.models.claim_grammar.claim_ebnf = description_first_ebnf if description_first else _PAPER_EBNF


def train_description_first(run, configuration: str, out: Path, threads: int) -> Path:
    """Fine-tune and merge the configuration with every claim description first; returns the merged folder."""
    import pandas as pd

    from claimbench.models.finetune import run_finetune
    from claimbench.plan.finetune import finetune_job
    from claimbench.models.merge import merge_adapter
    from claimbench.predict.run import prompt_examples
    from claimbench.retrieval import neighbour_ids

    use_layout(True)  # the training completions and example claims too
    merged = out / "merged"
    if (merged / "config.json").exists():
        return merged
    results = run.results
    model = run.config["configurations"][configuration]["model"]
    job = finetune_job(run.config, configuration, str(results / "models" / model))
    job.update(train=str(results / "data/split/train.parquet"),
               validation=str(results / "data/split/validation.parquet"),
               adapter_dir=str(out / "adapter"), stats=str(out / "train_stats.json"), threads=threads)
    neighbours = neighbour_ids(pd.read_parquet(results / "retrieval/finetune_neighbours.parquet"), job["k"])
    job["example_claims"] = prompt_examples(job["prompt"], neighbours, run.train,
                                            results / "retrieval/finetune_code_hints.parquet")
    run_finetune(job)
    merge_adapter(job["model_dir"], out / "adapter", merged, threads=threads)
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(parser, n=40, seed_offset=7, threads=2)
    parser.add_argument("--configuration", default="ft-mini+lexicon", help="the fine-tuned configuration to retrain")
    parser.add_argument("--decode-as", help="decode as this configuration of the same model, e.g. "
                        "ft-mini+lexicon+grammar (its grammar then writes the layout measured)")
    parser.add_argument("--reference-merged", help="the paper-layout model (default: the run's merged model)")
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "cpt_layout"))
    args = parser.parse_args()

    from claimbench.evaluation.cases import read_predictions
    from claimbench.predict.decoding import apply_choice
    from claimbench.predict.run import predict_llm, prompt_examples, with_grammar_limits
    from claimbench.plan.layout import Layout
    from claimbench.plan.predict import resolve, trained_configuration

    run = load_run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    decode_as = args.decode_as or args.configuration
    if trained_configuration(run.config, decode_as) != args.configuration:
        raise SystemExit(f"--decode-as {decode_as} does not predict with {args.configuration}'s model")
    # the decoding settings the run chose on validation notes for the trained configuration (its grammar row
    # predicts with them too)
    choice = Path(Layout(str(run.results)).decoding_choice(args.configuration))
    conf = with_grammar_limits(resolve(run.config, decode_as), run.train)
    conf = apply_choice(conf, choice if choice.exists() else None)
    ids = run.cases["encounter_id"].astype(str).tolist()
    shown = {eid: run.neighbours[eid] for eid in ids}
    reference = Path(args.reference_merged or run.results / "finetune" / args.configuration / "merged")

    variants = {"paper layout (code first)": (reference, False),
                "description first": (train_description_first(run, args.configuration, out, args.threads), True)}
    report = {"configuration": args.configuration, "decoded_as": decode_as, "n_validation_notes": len(ids),
              "decoding": conf.get("generation"), "constrained": conf.get("constrained"), "variants": {}}
    print(f"{args.configuration} decoded as {decode_as}, {len(ids)} validation notes, "
          f"decoding {conf.get('generation')}")
    for name, (model_dir, description_first) in variants.items():
        use_layout(description_first)
        examples = prompt_examples(conf.get("prompt"), shown, run.train,
                                   run.results / "retrieval/finetune_code_hints.parquet")
        path = out / f"{decode_as}.{'description_first' if description_first else 'paper_layout'}.jsonl"
        meta = predict_llm(decode_as, conf, run.cases, len(run.validation), path,
                           path.with_suffix(".meta.json"), model_dir, examples, progress=False)
        predictions = read_predictions(path)
        if description_first:
            predictions["generated_text"] = predictions["generated_text"].map(to_paper_layout)
        score = score_answers(run, predictions, shown)
        report["variants"][name] = {"model": str(model_dir), **score, "seconds": meta.get("elapsed_seconds")}
        f1 = score["f1"]
        print(f"  {name:26s} F1 ICD-10-CM {f1['icd10']:.2f}  CPT {f1['cpt']:.2f}  modifier {f1['modifier']:.2f}; "
              f"a CPT code in {score['answers_with_a_cpt_code']} of {len(ids)}; CPT codes = the first example "
              f"claim's in {score['cpt_copied_from_first_example']}")
    stats = out / "train_stats.json"
    if stats.exists():
        report["description_first_training"] = {k: v for k, v in json.loads(stats.read_text()).items()
                                                if k in ("train_tokens", "tokens_per_second", "wall_seconds",
                                                         "selection", "final_loss")}
    (out / f"report.{decode_as}.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
