# Rule paper002_predict: JSON claims of paper 002's evaluation charts by one configuration, through the same
# generation code as paper 000's predictions (claimbench.predict.configuration with paper 002's task).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as scripts/predict.py: sleeping OpenMP threads on a shared CPU

import torch  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.predict.configuration import predict_configuration  # noqa: E402
from claimbench.data.split import select_cases  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
evaluation = read_encounters(smk.input.evaluation)
cases = select_cases(evaluation, smk.params.n_eval_cases, smk.params.seed)
predict_configuration(smk.wildcards.configuration, smk.params.settings, cases, len(evaluation), smk.output.predictions,
                      smk.output.meta, model_dir=smk.params.model_dir)
