# Rule querybench_query: one model, one decoding mode, one temperature, all three code systems.
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from claimbench.querybench.pipeline import run_query  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)  # 1 by default: on a shared 2-core machine, more threads spin and slow down
run_query(
    model_dir=Path(smk.params.meta["model_dir"]),
    model_name=smk.wildcards.model,
    samples=smk.params.samples,
    qb=smk.params.querybench,
    codesets_config=smk.params.codesets,
    mode=smk.wildcards.mode,
    temperature=float(smk.wildcards.temperature),
    seed=int(smk.params.seed),
    out_jsonl=Path(smk.output.responses),
    out_meta=Path(smk.output.meta),
    meta_extra=smk.params.meta,
)
