# Rule evaluate_verdict: F1 with bootstrap 95% intervals beside the paper's, whether the paper's ordering holds (paired
# bootstrap differences) and every paired comparison (claimbench.evaluation.verdict; the report's first section).
import logging

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.evaluation.verdict import write  # noqa: E402

_, verdicts = write(
    metrics_path=snakemake.input.metrics,  # noqa: F821
    intervals_path=snakemake.input.intervals,  # noqa: F821
    configurations_path=snakemake.input.configurations,  # noqa: F821
    out=dict(snakemake.output.items()),  # noqa: F821
    replicates_path=snakemake.input.replicates,  # noqa: F821
    case_paths=dict(snakemake.params.cases),  # noqa: F821
)
for row in verdicts.itertuples():
    logging.info("(%s) %s, %s: %s (intervals apart: %s; paper: %s)", row.finding, row.statement, row.scope,
                 row.verdict, row.verdict_nonoverlap, row.paper_verdict)
