# Rule evaluate_training: fine-tuning time and trainable parameters beside the paper's (paper 000, Fine Tuning).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.evaluation.pipeline import training  # noqa: E402

training(
    stats_paths=dict(snakemake.params.stats),  # noqa: F821
    meta_paths=dict(snakemake.params.metas),  # noqa: F821
    paper_columns=dict(snakemake.params.paper_columns),  # noqa: F821
    out_path=snakemake.output.table,  # noqa: F821
)
