# Rule evaluate_style_shift: every configuration's F1 on normal and style-shifted notes of the same test encounters,
# and the drop with its paired bootstrap interval (claimbench.evaluation.style_shift).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.evaluation.style_shift import summarize_style_shift  # noqa: E402

summarize_style_shift(
    normal_paths=dict(snakemake.params.normal),  # noqa: F821
    shifted_paths=dict(snakemake.params.shifted),  # noqa: F821
    meta_paths=dict(snakemake.params.metas),  # noqa: F821
    table_out=snakemake.output.table,  # noqa: F821
    figure_out=snakemake.output.figure,  # noqa: F821
    n_resamples=int(snakemake.params.n_resamples),  # noqa: F821
    seed=int(snakemake.params.seed),  # noqa: F821
)
