# Rule evaluate_whole_split: the configurations without a language model on every test note, normal and
# style-shifted (claimbench.evaluation.whole_split).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.evaluation.whole_split import summarize_whole_split  # noqa: E402

summarize_whole_split(
    normal_paths=dict(snakemake.params.normal),  # noqa: F821
    shifted_paths=dict(snakemake.params.shifted),  # noqa: F821
    n_resamples=int(snakemake.params.n_resamples),  # noqa: F821
    seed=int(snakemake.params.seed),  # noqa: F821
    table_out=snakemake.output.table,  # noqa: F821
)
