# Rule evaluate_breakdowns: F1 by training frequency of the code, note length and codes per case
# (claimbench.evaluation.breakdowns).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.evaluation.failures import breakdowns  # noqa: E402

breakdowns(
    case_paths=dict(snakemake.params.cases),  # noqa: F821
    meta_paths=dict(snakemake.params.metas),  # noqa: F821
    train_path=snakemake.input.train,  # noqa: F821
    test_path=snakemake.input.test,  # noqa: F821
    out=dict(snakemake.output.items()),  # noqa: F821
)
