"""Training throughput of the fine-tuning stage on this machine: tokens/s of QLoRA steps with the default settings,
and variants (bf16 compute as in the paper, a dense LoRA without 4-bit weights, sequence packing) for comparison.

    .venv/bin/python benchmarks/finetune_speed.py --model-dir results/models/smollm2 \
        --train results/data/split/train.parquet --steps 6 --threads 2

Each variant is a real run of claimbench.models.finetune.run_finetune (max_steps steps) on the configured prompt/claim
pairs; the figure is train_tokens / train_seconds from its train_stats.json (model loading excluded). The packed
variants put 2 or 4 examples into each training sequence (paper 002's packing: DataCollatorWithFlattening, position
ids reset per example, attention within each example), so they see 2x / 4x the examples in the same number of steps;
"padded batch" is the same number of examples per step without packing, padded to the longest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

from claimbench.models.finetune import run_finetune  # noqa: E402
from claimbench.plan.finetune import deep_merge, settings_for  # noqa: E402

VARIANTS = {
    "default (nf4, fp32 compute)": {},
    "paper precision (nf4, bf16 compute)": {"quantization": {"compute_dtype": "bfloat16"}},
    "dense LoRA (no 4-bit), fp32": {"quantization": {"load_in_4bit": False}},
    "padded batch of 2": {"training": {"per_device_batch_size": 2}},
    "packed, 2 examples a sequence": {"training": {"per_device_batch_size": 2, "packing": True}},
    "packed, 4 examples a sequence": {"training": {"per_device_batch_size": 4, "packing": True}},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--train", required=True, help="training split (Parquet)")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()

    section = yaml.safe_load((ROOT / "config.yaml").read_text())["finetune"]
    base = deep_merge(settings_for(section, "benchmark"), {
        "training": {"max_steps": args.steps, "gradient_accumulation_steps": 1, "logging_steps": args.steps,
                     "per_device_batch_size": 1, "packing": False},
        "selection": {"n_validation": 0},
    })
    print(f"model {args.model_dir}, {args.steps} steps, {args.threads} threads")
    print(f"{'variant':40s} {'tokens':>7s} {'seconds':>8s} {'tokens/s':>9s}")
    for name in args.variants:
        settings = deep_merge(base, VARIANTS[name])
        settings["data"]["max_examples"] = args.steps * settings["training"]["per_device_batch_size"]
        with tempfile.TemporaryDirectory() as tmp:
            stats = run_finetune({
                "configuration": "benchmark", "model": Path(args.model_dir).name, "model_dir": args.model_dir,
                "train": args.train, "adapter_dir": f"{tmp}/adapter", "stats": f"{tmp}/train_stats.json",
                "settings": settings, "seed": 1, "threads": args.threads,
            })
        print(f"{name:40s} {stats['train_tokens']:7d} {stats['train_seconds']:8.1f} {stats['tokens_per_second']:9.1f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
