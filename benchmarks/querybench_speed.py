"""Query-benchmark generation speed on this machine: free vs trie-constrained decoding, and the trie's own cost.

    .venv/bin/python benchmarks/querybench_speed.py MODEL_DIR [--n 16] [--batch-size 16] [--threads 1]

Prints prompts, new tokens, tokens/s per mode and code system, the time to index the vocabulary for the trie, and
the trie processor's time per generation step.
"""

from __future__ import annotations

import argparse
import time

import torch

from claimbench.models.loading import LoadSettings, load_for_inference
from claimbench.querybench.codebook import load_codebook
from claimbench.querybench.generate import query_codes
from claimbench.querybench.sample import sample_codes
from claimbench.querybench.systems import SYSTEMS
from claimbench.querybench.trie import CodeTrie, TrieLogitsProcessor, token_texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--systems", default="icd10cm,cpt")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, tokenizer = load_for_inference(args.model_dir, LoadSettings())
    began = time.perf_counter()
    texts = token_texts(tokenizer)
    print(f"vocabulary {len(tokenizer)} tokens, {len(texts)} code-character tokens indexed in "
          f"{time.perf_counter() - began:.2f} s")
    for key in args.systems.split(","):
        book = load_codebook(key)
        began = time.perf_counter()
        trie = CodeTrie(book.all_codes)
        print(f"{SYSTEMS[key].name}: trie of {len(trie.codes)} codes / {len(trie.prefixes)} prefixes built in "
              f"{time.perf_counter() - began:.2f} s")
        processor = TrieLogitsProcessor(trie, texts, 0, [tokenizer.eos_token_id])
        some = sorted(trie.codes)[0]
        by_text = {text: token_id for token_id, text in texts.items()}
        prefix = [by_text[ch] for ch in some[:3]]  # a 3-character prefix, one character per token
        began = time.perf_counter()
        for _ in range(100):
            processor.allowed(prefix)
        print(f"  trie step: {1000 * (time.perf_counter() - began) / 100:.2f} ms per row")
        sample = sample_codes(book, args.n, seed=1)
        for mode in ("free", "trie"):
            began = time.perf_counter()
            frame = query_codes(model, tokenizer, sample, SYSTEMS[key], mode=mode, temperature=0.2, seed=1,
                                batch_size=args.batch_size, trie=trie if mode == "trie" else None)
            seconds = time.perf_counter() - began
            tokens = int(frame["n_new_tokens"].sum())
            print(f"  {mode}: {len(frame)} prompts, {tokens} new tokens in {seconds:.1f} s = "
                  f"{tokens / seconds:.1f} tokens/s ({len(frame) / seconds:.2f} prompts/s)")


if __name__ == "__main__":
    main()
