# Rule querybench_taxonomy: paper 003's wrong codes graded by the claim taxonomy (claimbench.querybench.errors).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import pandas as pd  # noqa: E402

from claimbench.querybench.errors import response_taxonomy  # noqa: E402

smk = snakemake  # noqa: F821
scored = [frame for frame in (pd.read_parquet(path) for path in smk.input.scored) if len(frame)]
response_taxonomy(
    pd.concat(scored, ignore_index=True) if scored else pd.DataFrame(),
    qb=smk.params.querybench,
    codesets_config=smk.params.codesets,
    n_resamples=int(smk.params.n_resamples),
    seed=int(smk.params.seed),
).to_csv(smk.output.table, index=False)
