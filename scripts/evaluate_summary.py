# Rule evaluate_summary: metrics per configuration, Table 2 beside the paper, per-service breakdown.
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.evaluation.pipeline import summarize  # noqa: E402

summarize(
    case_paths=dict(snakemake.params.cases),  # noqa: F821
    meta_paths=dict(snakemake.params.metas),  # noqa: F821
    paper_columns=dict(snakemake.params.paper_columns),  # noqa: F821
    out=dict(snakemake.output.items()),  # noqa: F821
)
