# Rule evaluate_cases: one configuration's predictions scored case by case (claimbench.evaluation.pipeline).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.evaluation.pipeline import evaluate_configuration  # noqa: E402

evaluate_configuration(
    test_path=snakemake.input.test,  # noqa: F821
    predictions_path=snakemake.input.predictions,  # noqa: F821
    meta_path=snakemake.input.meta,  # noqa: F821
    out_path=snakemake.output.cases,  # noqa: F821
    codesets=snakemake.params.codesets,  # noqa: F821
    evaluation=snakemake.params.evaluation,  # noqa: F821
    structure=getattr(snakemake.params, "structure", True),  # noqa: F821 (False: the extra case sets, codes only)
)
