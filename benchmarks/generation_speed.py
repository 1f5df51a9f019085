"""Greedy generation speed of the decoders the predict stage could use, side by side, on the same prompts and the
paper's settings (greedy, 1 beam, repetition penalty 1.1), each checked against one-at-a-time generation:

- one at a time: ``model.generate`` on each prompt alone, the paper's procedure (the reference for the outputs);
- hand-written continuous batching: ``claimbench.models.generation.generate`` (``_continuous``): a finished row
  leaves at once and the next prompt takes its slot;
- static batches: ``model.generate`` on length-sorted, left-padded batches (``generate(..., continuous=False)``, with
  the pad-blind repetition penalty);
- transformers' own continuous batching (``model.generate_batch``): timed only where it applies the repetition
  penalty. transformers 5.23 drops it (``RepetitionPenaltyLogitsProcessor.supports_continuous_batching`` is False:
  the packed batch has no per-request token history), so its outputs are not the paper's; ``--library-without-penalty``
  times it anyway at penalty 1.0, beside the hand-written loop at 1.0, for the speed alone.

    .venv/bin/python benchmarks/generation_speed.py [--model results/models/smollm2] [--test results/data/split/test.parquet]

Prompts: the paper's base prompt over the first --n test notes (built-in notes when no test split exists yet). Only
real new tokens count (a row's padding after it stopped does not). Batching speeds up decoding only: every prompt's
prefill costs about the same in each decoder, so the overall speed-up is below the decoding one (prefill is timed
apart).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# As in the pipeline's scripts: OpenMP threads sleep rather than spin while waiting (a shared CPU).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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


def library_cb_penalty_support() -> tuple[bool, str]:
    """Whether transformers' continuous batching keeps the repetition penalty, and why not when it does not."""
    import transformers
    from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

    if getattr(RepetitionPenaltyLogitsProcessor, "supports_continuous_batching", False):
        return True, ""
    return False, (f"transformers {transformers.__version__}: generate_batch drops the repetition penalty "
                   "(RepetitionPenaltyLogitsProcessor.supports_continuous_batching = False)")


def decode_new(tokenizer, new: list[int], stops: set[int]) -> tuple[str, int]:
    """(text up to the first stop token, new tokens counted with the stop token), as claimbench's decoders report."""
    cut = next((k for k, t in enumerate(new) if t in stops), None)
    return tokenizer.decode(new if cut is None else new[:cut], skip_special_tokens=False), (
        len(new) if cut is None else cut + 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "results/models/smollm2"))
    parser.add_argument("--test", default=str(ROOT / "results/data/split/test.parquet"))
    parser.add_argument("--n", type=int, default=16, help="prompts")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=512, help="the paper's 512 by default")
    parser.add_argument("--repetition-penalty", type=float, default=1.1, help="the paper's 1.1 by default")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs of each decoder (median)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kind", default="base", choices=["base", "finetuned"])
    parser.add_argument("--library-without-penalty", action="store_true",
                        help="also time generate_batch at repetition penalty 1.0 where it cannot apply the penalty")
    args = parser.parse_args()

    import torch
    from transformers import GenerationConfig

    from claimbench.models.generation import GenerationSettings, generate, stop_token_ids
    from claimbench.models.loading import load_for_inference
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
    encoded = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    stops = stop_token_ids(model, tokenizer)

    def one_at_a_time(penalty):
        texts, new_tokens = [], 0
        start = time.perf_counter()
        for ids in encoded:
            out = model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                 max_new_tokens=args.max_new_tokens, do_sample=False, num_beams=1,
                                 repetition_penalty=penalty, eos_token_id=sorted(stops),
                                 pad_token_id=tokenizer.pad_token_id, temperature=None, top_p=None, top_k=None)
            text, n = decode_new(tokenizer, out[0, len(ids):].tolist(), stops)
            texts.append(text)
            new_tokens += n
        return texts, new_tokens, time.perf_counter() - start

    def ours(continuous, penalty):
        settings = GenerationSettings(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                                      repetition_penalty=penalty)
        start = time.perf_counter()
        results = [r for batch in generate(model, tokenizer, prompts, settings, progress=False, continuous=continuous)
                   for r in batch]
        seconds = time.perf_counter() - start
        results.sort(key=lambda r: r.index)
        return [r.text for r in results], sum(r.n_new_tokens for r in results), seconds

    def library_cb(penalty):
        config = GenerationConfig(max_new_tokens=args.max_new_tokens, do_sample=False, num_beams=1,
                                  repetition_penalty=penalty, eos_token_id=sorted(stops),
                                  pad_token_id=tokenizer.pad_token_id)
        start = time.perf_counter()
        out = model.generate_batch(inputs=encoded, generation_config=config, progress_bar=False)
        seconds = time.perf_counter() - start
        texts, new_tokens = [], 0
        for result in out.values():  # in input order
            text, n = decode_new(tokenizer, list(result.generated_tokens), stops)
            texts.append(text)
            new_tokens += n
        return texts, new_tokens, seconds

    penalty = args.repetition_penalty
    cb_ok, cb_reason = library_cb_penalty_support()
    decoders = {
        "hand-written continuous batching": lambda: ours(True, penalty),
        "model.generate, static length-sorted batches": lambda: ours(False, penalty),
    }
    if cb_ok:
        decoders["transformers generate_batch (continuous)"] = lambda: library_cb(penalty)

    def prefill():
        """Every prompt's prefill, alone (as one at a time and the continuous loop do it): the decoding column is each
        decoder's time less this (static batches prefill padded batches instead: approximate there)."""
        with torch.inference_mode():
            start = time.perf_counter()
            for ids in encoded:
                model(input_ids=torch.tensor([ids]), logits_to_keep=1)
            return [], 0, time.perf_counter() - start

    reference_name = "one at a time (model.generate)"
    decoders = {reference_name: lambda: one_at_a_time(penalty), **decoders, "prefill": prefill}
    print(f"model {args.model} ({family}), {len(prompts)} {args.kind} prompts from {source}, greedy, repetition "
          f"penalty {penalty}, max_new_tokens {args.max_new_tokens}, batch {args.batch_size}, torch threads "
          f"{args.threads}, repeats {args.repeats}", flush=True)
    seconds, same, reference, new_tokens = {}, {}, None, 0
    for repeat in range(args.repeats):  # interleaved, so that a change of load on a shared machine hits every decoder
        for name, run in decoders.items():
            texts, tokens, took = run()
            seconds.setdefault(name, []).append(took)
            if name == reference_name:
                reference, new_tokens = texts, tokens
            elif name != "prefill":
                same[name] = same.get(name, True) and texts == reference and tokens == new_tokens
            print(f"repeat {repeat + 1} {name}: {tokens} new tokens in {took:.1f} s", flush=True)

    median = {name: statistics.median(values) for name, values in seconds.items()}
    prefill_s, single_s = median.pop("prefill"), median[reference_name]
    print(f"\n{new_tokens} new tokens per decoder; prefill of the {len(prompts)} prompts, one at a time: "
          f"{prefill_s:.1f} s (median; subtracted for 'decoding')")
    print(f"{'decoder (medians)':48} {'tokens/s':>9} {'speed-up':>9} {'decoding':>9}  identical to one at a time")
    for name, took in median.items():
        print(f"{name:48} {new_tokens / took:9.2f} {single_s / took:8.2f}x "
              f"{(single_s - prefill_s) / (took - prefill_s):8.2f}x  {same.get(name, '(reference)')}")
    if not cb_ok:
        print(f"{'transformers generate_batch (continuous)':48} {'-':>9} {'-':>9} {'-':>9}  not run: {cb_reason}")
    if not cb_ok and args.library_without_penalty:
        print("\nfor speed alone, at repetition penalty 1.0 (not the paper's settings):")
        texts_ours, tokens_ours, seconds_ours = ours(True, 1.0)
        texts_cb, tokens_cb, seconds_cb = library_cb(1.0)
        print(f"  hand-written continuous batching: {tokens_ours / seconds_ours:.2f} tokens/s")
        print(f"  transformers generate_batch:      {tokens_cb / seconds_cb:.2f} tokens/s; same outputs as the "
              f"hand-written loop at 1.0: {texts_cb == texts_ours}")
    return 0 if all(same.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
