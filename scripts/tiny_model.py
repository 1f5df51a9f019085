# Rule tiny_model: a seeded tiny random model of a real architecture (claimbench.models.tiny).
from pathlib import Path

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

# OpenMP threads that sleep instead of spinning while they wait: on a CPU shared with other jobs, spinning threads
# made 2-thread generation ~2.5x slower than 1 thread (measured: decode step 0.90 s spinning vs 0.34 s passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from claimbench.models.tiny import build_tiny  # noqa: E402

torch.set_num_threads(snakemake.threads)  # noqa: F821
build_tiny(
    snakemake.params.architecture,  # noqa: F821
    out_dir=Path(snakemake.output.config).parent,  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
    tokenizer_source=snakemake.params.tokenizer,  # noqa: F821
    workdir=Path(snakemake.params.workdir),  # noqa: F821
)
