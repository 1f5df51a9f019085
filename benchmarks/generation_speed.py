"""Greedy generation speed: one prompt at a time (the paper) vs length-sorted batches, on the default model.

Prints tokens/s of both (median over --repeats) and checks that the generated texts are identical.
Target (issue 3): batch 8 at least 3x the one-at-a-time rate on the 2-core CPU, identical outputs.

    .venv/bin/python benchmarks/generation_speed.py [--model results/models/smollm2] [--test results/data/split/test.parquet]

Prompts: the paper's base prompt (the configuration whose outputs run longest) over the first --n test notes, or over
built-in notes when no test split exists yet. Only real new tokens count (a row's padding after it stopped does not).
Batching speeds up decoding only: each prompt's prefill (~540 tokens for the base prompt) costs the same either way,
so the overall speed-up is below the decoding speed-up, the more so the shorter the answers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# As in the pipeline's scripts: OpenMP threads sleep rather than spin while waiting (a shared CPU).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(ROOT / "src"))

FALLBACK_NOTES = [
    "PROCEDURE: Laparoscopic cholecystectomy.\nINDICATIONS: Symptomatic cholelithiasis.\nFINDINGS: Gallstones.",
    "PROCEDURE: Right total knee arthroplasty.\nINDICATIONS: Primary osteoarthritis of the right knee.",
    "PROCEDURE: Phacoemulsification with intraocular lens, left eye.\nINDICATIONS: Age-related nuclear cataract.",
    "PROCEDURE: Open repair of a reducible left inguinal hernia with mesh.",
    "PROCEDURE: Carpal tunnel release, right wrist.\nINDICATIONS: Carpal tunnel syndrome, right upper limb.",
    "PROCEDURE: Excision of a 1.8 cm benign lesion of the back with intermediate layered closure.",
    "PROCEDURE: Colonoscopy with snare polypectomy.\nFINDINGS: A 6 mm sessile polyp in the sigmoid colon.",
    "PROCEDURE: Tonsillectomy and adenoidectomy.\nINDICATIONS: Chronic tonsillitis and adenoid hypertrophy.",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "results/models/smollm2"))
    parser.add_argument("--test", default=str(ROOT / "results/data/split/test.parquet"))
    parser.add_argument("--n", type=int, default=16, help="prompts")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=512, help="the paper's 512 by default")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kind", default="base", choices=["base", "finetuned"])
    args = parser.parse_args()

    import torch

    from claimbench.models.generation import GenerationSettings, generate, load_for_inference
    from claimbench.prompts import build_prompt, detect_family

    torch.set_num_threads(args.threads)
    if Path(args.test).exists():
        from claimbench.data.io import read_encounters

        notes = list(read_encounters(args.test)["op_note"][: args.n])
        source = args.test
    else:
        notes = (FALLBACK_NOTES * (args.n // len(FALLBACK_NOTES) + 1))[: args.n]
        source = "built-in notes"
    model, tokenizer = load_for_inference(args.model)
    family = detect_family(args.model)
    prompts = [build_prompt(args.kind, note, family=family, tokenizer=tokenizer) for note in notes]

    def run(batch_size):
        settings = GenerationSettings(max_new_tokens=args.max_new_tokens, batch_size=batch_size)
        start = time.perf_counter()
        results = [r for batch in generate(model, tokenizer, prompts, settings, progress=False) for r in batch]
        seconds = time.perf_counter() - start
        results.sort(key=lambda r: r.index)
        return results, seconds

    rates = {1: [], args.batch_size: []}
    texts = {}
    for repeat in range(args.repeats):
        for batch_size in rates:
            results, seconds = run(batch_size)
            new = sum(r.n_new_tokens for r in results)
            rates[batch_size].append(new / seconds)
            texts.setdefault(batch_size, [r.text for r in results])
            print(f"repeat {repeat + 1} batch {batch_size}: {new} new tokens in {seconds:.1f} s = {new / seconds:.2f} "
                  f"tokens/s", flush=True)
    # Prefill (every prompt once, alone, as both runs do it) timed on its own, to show the decoding speed-up.
    prefill = []
    with torch.inference_mode():
        for _ in range(args.repeats):
            start = time.perf_counter()
            for prompt in prompts:
                ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
                model(input_ids=ids, logits_to_keep=1)
            prefill.append(time.perf_counter() - start)
    single, batched = statistics.median(rates[1]), statistics.median(rates[args.batch_size])
    new_tokens, prefill_s = sum(r.n_new_tokens for r in results), statistics.median(prefill)
    decode = {b: new_tokens / (new_tokens / statistics.median(r) - prefill_s) for b, r in rates.items()}
    identical = texts[1] == texts[args.batch_size]
    print(f"model {args.model} ({family}), {len(prompts)} {args.kind} prompts from {source}, "
          f"max_new_tokens {args.max_new_tokens}, torch threads {args.threads}, repeats {args.repeats}")
    print(f"one-at-a-time: {single:.2f} tokens/s (median)")
    print(f"batch {args.batch_size}: {batched:.2f} tokens/s (median)")
    print(f"speed-up: {batched / single:.2f}x (target >= 3x)")
    print(f"prefill of the {len(prompts)} prompts: {prefill_s:.1f} s (the same in both runs); decoding alone: "
          f"{decode[1]:.2f} vs {decode[args.batch_size]:.2f} tokens/s = {decode[args.batch_size] / decode[1]:.2f}x")
    print(f"identical outputs: {identical}")
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
