# Rule predict: one configuration over the selected test cases (claimbench.predict.configuration).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

# OpenMP threads that sleep instead of spinning while they wait: on a CPU shared with other jobs, spinning threads
# made 2-thread generation ~2.5x slower than 1 thread (measured: decode step 0.90 s spinning vs 0.34 s passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.data.split import select_cases  # noqa: E402
from claimbench.predict.configuration import predict_from_inputs  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
test = read_encounters(smk.input.test)
predict_from_inputs(
    smk.wildcards.configuration,
    smk.params.settings,
    select_cases(test, smk.params.n_test_cases, smk.params.seed),
    len(test),
    smk.output.predictions,
    smk.output.meta,
    {name: smk.input[name] for name in smk.input.keys()},
    model_dir=smk.params.model_dir,
    side_hints=smk.params.side_hints,
    codesets=smk.params.codesets,
    data_source=smk.params.data_source,
)
