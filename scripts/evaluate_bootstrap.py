# Rule evaluate_bootstrap: seeded, paired bootstrap of mean precision and recall (paper 000, Figure 3).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.evaluation.pipeline import bootstrap  # noqa: E402

bootstrap(
    case_paths=dict(snakemake.params.cases),  # noqa: F821
    meta_paths=dict(snakemake.params.metas),  # noqa: F821
    n_resamples=int(snakemake.params.n_resamples),  # noqa: F821
    seed=int(snakemake.params.seed),  # noqa: F821
    out=dict(snakemake.output.items()),  # noqa: F821
)
