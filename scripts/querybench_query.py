# Rule querybench_query: every run (decoding mode x temperature) of one model over the three code systems.
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from claimbench.querybench.pipeline import run_model  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
run_model(
    model_dir=Path(smk.params.meta["model_dir"]),
    model_name=smk.wildcards.model,
    samples=smk.params.samples,
    qb=smk.params.querybench,
    codesets_config=smk.params.codesets,
    seed=int(smk.params.seed),
    out_jsonl=Path(smk.output.responses),
    out_meta=Path(smk.output.meta),
    meta_extra=smk.params.meta,
)
