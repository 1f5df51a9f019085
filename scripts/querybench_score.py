# Rule querybench_score: per-response facts, METEOR/BERTScore and the metric summary of one model's runs.
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from claimbench.querybench.pipeline import score_model  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
score_model(
    Path(smk.input.responses),
    smk.params.querybench,
    smk.params.codesets,
    smk.params.nltk_data,
    Path(smk.output.scored),
    Path(smk.output.summary),
)
