"""Grammar-constrained decoding (claimbench.models.claim_grammar): compile time and per-token cost of the claim
grammar, and the generation overhead it adds.

    .venv/bin/python benchmarks/claim_grammar_speed.py [--model results/models/smollm2] [--fiscal-year 2022]
        [--others /path/with/outlines_core:/path/with/transformers_cfg]

Prints, for one fiscal year's grammar with the model's tokenizer:
1. compile seconds (cold: a new compiler, xgrammar's cache off) and mask milliseconds per token (replaying a rendered
   claim) for ways of writing the same language: the ICD-10-CM codes as a flat list of alternatives, as a prefix
   tree, as the minimal prefix automaton (what claimbench writes), and that with the free text in 8-character chunks;
2. the in-process cache: a second request for the fiscal year;
3. greedy generation with and without the grammar on --n notes (seconds per new token; the difference is the
   grammar's per-token overhead);
4. with --others, the same layout in the other libraries found on that path (outlines-core's regex index,
   transformers-cfg, lm-format-enforcer), or why they could not run.
The machine's other load changes every number: run it alone, and read the figures as ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from generation_speed import FALLBACK_NOTES  # noqa: E402 (this folder: the decoder benchmark's sample notes)

# Four of the decoder benchmark's sample notes: cholecystectomy, cataract, inguinal hernia, carpal tunnel.
NOTES = [FALLBACK_NOTES[i] for i in (0, 2, 3, 4)]


def plain_tree(name: str, codes) -> tuple[str, list[str]]:
    """A prefix tree without shared subtrees (one rule per prefix)."""
    rules: list[str] = []

    def build(depth, group):
        rule = f"{name}_{len(rules)}"
        rules.append("")
        slot = len(rules) - 1
        children, ends = {}, False
        for code in group:
            if len(code) == depth:
                ends = True
            else:
                children.setdefault(code[depth], []).append(code)
        options = [json.dumps(c) if all(len(s) == depth + 1 for s in sub) else f"{json.dumps(c)} {build(depth + 1, sub)}"
                   for c, sub in children.items()]
        rules[slot] = f"{rule} ::= " + " | ".join(options + (['""'] if ends else []))
        return rule

    return build(0, sorted(codes)), rules


def variants(icd, cpt, mods) -> dict[str, str]:
    """The same language written four ways (only the ICD-10-CM slot or the free text differ)."""
    from claimbench.models.claim_grammar import claim_ebnf

    minimal = claim_ebnf(icd, cpt, mods)
    lines = minimal.splitlines()
    root = re.match(r"diagnoses ::= (\S+)", next(line for line in lines if line.startswith("diagnoses"))).group(1)
    rest = [line for line in lines if not line.startswith("icd_")]

    def with_icd(rule: str, rules: list[str]) -> str:
        return "\n".join([line.replace(root, rule) if line.startswith("diagnoses") else line for line in rest] + rules)

    tree_root, tree_rules = plain_tree("icdt", icd)
    chunked = [line for line in lines if not line.startswith(("name ::=", "description ::="))] + [
        "name ::= name_chunk{0,4} name_tail", "name_chunk ::= [A-Za-z0-9,.'() -]{8}",
        "name_tail ::= [A-Za-z0-9,.'() -]{1,8}",
        "description ::= description_chunk{0,9} description_tail", "description_chunk ::= [^\\n|]{8}",
        "description_tail ::= [^\\n|]{1,8}"]
    return {"flat list of codes": with_icd("icd_flat", ["icd_flat ::= " + " | ".join(json.dumps(c) for c in sorted(icd))]),
            "prefix tree": with_icd(tree_root, tree_rules),
            "minimal prefix automaton (claimbench)": minimal,
            "minimal automaton, free text in 8-char chunks": "\n".join(chunked)}


def replay_ms(compiled, ids) -> float:
    import xgrammar as xgr

    matcher = xgr.GrammarMatcher(compiled)
    bitmask = xgr.allocate_token_bitmask(1, compiled.tokenizer_info.vocab_size)
    start = time.perf_counter()
    for token in ids:
        matcher.fill_next_token_bitmask(bitmask)
        if not matcher.accept_token(token):
            raise RuntimeError("the grammar rejected a rendered claim")
    return (time.perf_counter() - start) / len(ids) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "results/models/smollm2"))
    parser.add_argument("--fiscal-year", type=int, default=2022)
    parser.add_argument("--n", type=int, default=4, help="notes for the generation comparison")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-variants", action="store_true", help="only the production grammar")
    parser.add_argument("--others", default="", help="a path list holding the other libraries")
    args = parser.parse_args()

    import torch
    import xgrammar as xgr

    from claimbench.claim import Claim, CptLine, render_claim
    from claimbench.evaluation.validity import ReferenceSets
    from claimbench.models.claim_grammar import ClaimGrammars, GrammarLimits, claim_ebnf, tokenizer_info
    from claimbench.models.generation import GenerationSettings, generate, stop_token_ids
    from claimbench.models.loading import load_for_inference
    from claimbench.prompts import build_prompt, detect_family

    torch.set_num_threads(args.threads)
    model, tokenizer = load_for_inference(args.model)
    stops = stop_token_ids(model, tokenizer)
    info = tokenizer_info(tokenizer, model.get_output_embeddings().weight.shape[0], stops)
    refs = ReferenceSets()
    fy = args.fiscal_year
    icd, cpt, mods = refs.icd10cm(fy), refs.cpt(fy), refs.modifiers
    claim = Claim(("H25.11", "E11.9", "I10"), (
        CptLine("Doe, Jane MD", "66984", ("RT",), "Removal of cataract with lens implant, right eye"),
        CptLine("Roe, Rick MD", "66984", ("80", "RT"), "Assistant at cataract surgery")))
    ids = tokenizer(render_claim(claim), add_special_tokens=False)["input_ids"] + [min(stops)]
    print(f"FY{fy}: {len(icd):,} ICD-10-CM codes, {len(cpt)} CPT codes, {len(mods)} modifiers; tokenizer "
          f"{Path(args.model).name} ({info.vocab_size:,} tokens); torch threads {args.threads}")

    print("\n1. One fiscal year's grammar, cold compile and mask per token (xgrammar):")
    grammars = variants(icd, cpt, mods) if not args.skip_variants else {
        "minimal prefix automaton (claimbench)": claim_ebnf(icd, cpt, mods)}
    for label, ebnf in grammars.items():
        compiler = xgr.GrammarCompiler(info, max_threads=args.threads, cache_enabled=False)
        start = time.perf_counter()
        compiled = compiler.compile_grammar(ebnf)
        seconds = time.perf_counter() - start
        print(f"   {label:48s} {ebnf.count(chr(10)) + 1:7,} rules  compile {seconds:6.2f} s  "
              f"mask {replay_ms(compiled, ids):6.2f} ms/token")

    print("\n2. ClaimGrammars (in-process cache), the same fiscal year asked twice:")
    for attempt in ("first", "second"):
        g = ClaimGrammars(info, refs)
        start = time.perf_counter()
        g.for_case(fy, fy)
        print(f"   {attempt}: {time.perf_counter() - start:.2f} s ({g.timings[0]['source']})")

    print(f"\n3. Greedy generation, {args.n} notes, base prompt, up to {args.max_new_tokens} new tokens, batch 4:")
    family = detect_family(args.model)
    prompts = [build_prompt("base", note, family=family, tokenizer=tokenizer) for note in NOTES[: args.n]]
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, batch_size=4)
    compiled = ClaimGrammars(info, refs).for_case(fy, fy)
    rates = {}
    for label, grammar_list in (("unconstrained", None), ("claim grammar", [compiled] * len(prompts))):
        start = time.perf_counter()
        results = [r for batch in generate(model, tokenizer, prompts, settings, progress=False,
                                           grammars=grammar_list) for r in batch]
        seconds = time.perf_counter() - start
        tokens = sum(r.n_new_tokens for r in results)
        rates[label] = seconds / tokens
        print(f"   {label:14s} {tokens:5d} new tokens in {seconds:6.1f} s: {seconds / tokens * 1000:6.1f} ms/token")
    print(f"   overhead of the grammar: {(rates['claim grammar'] - rates['unconstrained']) * 1000:+.1f} ms/token "
          f"({rates['claim grammar'] / rates['unconstrained']:.2f}x)")

    if args.others:
        print("\n4. Other libraries, the same layout:")
        sys.path.extend(args.others.split(":"))
        others(tokenizer, refs, fy, ids)
    return 0


def layout_regex(icd, cpt, mods, limits) -> str:
    alt = lambda xs: "(" + "|".join(re.escape(x) for x in sorted(xs)) + ")"  # noqa: E731
    code, proc, mod = alt(icd), alt(cpt), alt(mods)
    line = (f"{proc} \\| Modifiers: ({mod}(, {mod}){{0,{limits.max_modifiers - 1}}})? \\| Description: "
            f"[^\\n|]{{1,{limits.max_description_chars}}}")
    provider = (f"\\nProvider Name: [A-Za-z0-9,.'() -]{{1,{limits.max_name_chars}}}\\nProvider Billables:\\nCPT 1: "
                f"{line}(\\nCPT [2-9]: {line}){{0,{limits.max_lines - 1}}}")
    return (f"ICD-10-CM Diagnoses:\\n\\n{code}(, {code}){{0,{limits.max_icd10 - 1}}}\\n\\nCPT Codes with "
            f"Modifiers:\\n{provider}(\\n{provider}){{0,{limits.max_providers - 1}}}")


def others(tokenizer, refs, fy, ids) -> None:
    from claimbench.models.claim_grammar import GrammarLimits, claim_ebnf

    sample = sorted(refs.icd10cm(fy))[:100] + ["H25.11", "E11.9", "I10"]
    try:
        from outlines_core import Guide, Index, Vocabulary

        vocab: dict[str, list[int]] = {}
        for token in range(len(tokenizer)):
            if token != tokenizer.eos_token_id:
                vocab.setdefault(tokenizer.decode([token]), []).append(token)
        start = time.perf_counter()
        index = Index(layout_regex(sample, refs.cpt(fy), refs.modifiers, GrammarLimits()),
                      Vocabulary(tokenizer.eos_token_id, vocab))
        seconds = time.perf_counter() - start
        guide = Guide(index)
        start = time.perf_counter()
        for token in ids[:-1]:
            guide.get_tokens()
            guide.advance(token)
        print(f"   outlines-core: regex index over {len(sample)} ICD codes (not all {len(refs.icd10cm(fy)):,}) "
              f"{seconds:.1f} s, {(time.perf_counter() - start) / (len(ids) - 1) * 1000:.2f} ms/token")
    except Exception as error:  # a library that cannot run here is a finding, not a failure
        print(f"   outlines-core: {type(error).__name__}: {error}")
    try:
        from transformers_cfg.grammar_utils import IncrementalGrammarConstraint

        IncrementalGrammarConstraint(claim_ebnf(sample, refs.cpt(fy), refs.modifiers), "root", tokenizer)
        print("   transformers-cfg: built")
    except Exception as error:
        print(f"   transformers-cfg: {type(error).__name__}: {error}")
    try:
        from lmformatenforcer.integrations.transformers import build_token_enforcer_tokenizer_data

        build_token_enforcer_tokenizer_data(tokenizer)
        print("   lm-format-enforcer: tokenizer data built")
    except Exception as error:
        print(f"   lm-format-enforcer: {type(error).__name__}: {error}")


if __name__ == "__main__":
    raise SystemExit(main())
