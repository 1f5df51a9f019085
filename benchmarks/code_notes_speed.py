"""Notes per minute of `claimbench code` for a fine-tuned configuration, with and without the claim grammar.

    .venv/bin/python benchmarks/code_notes_speed.py [--run .] [--notes examples/new_notes.jsonl] [--repeats 3]
        [--configurations ft-mini+lexicon+grammar ft-mini+lexicon]

Codes the notes file with each configuration of a finished run that has them (by default ft-mini+lexicon of
profiles/study/extras.yaml: one merged model, decoded under the claim grammar and without it), into a fresh
temporary folder each repeat (nothing is resumed; the run is only read).
Prints each repeat and the median of: notes per minute over the whole command (model load, retrieval, code hints,
grammar compilation, generation) and over generation alone (the sum of the notes' seconds). Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from claimbench.coding.notes import code_notes

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=".", help="the checkout of a finished run (default: the current folder)")
    parser.add_argument("--notes", default=str(ROOT / "examples" / "new_notes.jsonl"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--configurations", nargs="+", default=["ft-mini+lexicon+grammar", "ft-mini+lexicon"])
    args = parser.parse_args()

    for configuration in args.configurations:
        whole, generation = [], []
        for repeat in range(args.repeats):
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                result = code_notes(args.notes, configuration, args.run, Path(folder) / "claims.jsonl", progress=False)
                seconds = time.perf_counter() - start
            n = len(result.claims)
            whole.append(60 * n / seconds)
            generation.append(60 * n / max(sum(c["seconds"] for c in result.claims), 1e-9))
            print(f"{configuration} repeat {repeat + 1}: {n} notes in {seconds:.1f} s: {whole[-1]:.1f} notes/min "
                  f"(generation alone {generation[-1]:.1f} notes/min)")
        print(f"{configuration}: median {statistics.median(whole):.1f} notes/min over the whole command, "
              f"{statistics.median(generation):.1f} over generation alone ({args.repeats} repeats)")


if __name__ == "__main__":
    main()
