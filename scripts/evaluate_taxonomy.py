# Rule evaluate_taxonomy: how each generated code relates to the coder's codes of its case
# (claimbench.evaluation.taxonomy).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.evaluation.failures import taxonomy  # noqa: E402

taxonomy(
    case_paths=dict(snakemake.params.cases),  # noqa: F821
    meta_paths=dict(snakemake.params.metas),  # noqa: F821
    codesets=dict(snakemake.params.codesets),  # noqa: F821
    n_resamples=int(snakemake.params.n_resamples),  # noqa: F821
    seed=int(snakemake.params.seed),  # noqa: F821
    out=dict(snakemake.output.items()),  # noqa: F821
)
