# Rule evaluate_figure3: box plots of the bootstrapped recall and precision (paper 000, Figure 3).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.evaluation.pipeline import draw_figure3  # noqa: E402

draw_figure3(
    replicates_path=snakemake.input.replicates,  # noqa: F821
    configurations_path=snakemake.input.configurations,  # noqa: F821
    paper_columns=dict(snakemake.params.paper_columns),  # noqa: F821
    out_path=snakemake.output.figure,  # noqa: F821
)
