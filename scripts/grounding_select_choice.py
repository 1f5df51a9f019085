# Rule select_grounding_choice: a describe configuration's final code choice (nearest, note's, model's) made on the
# validation split (claimbench.grounding.predict.select_choice). The test split is not an input.
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see scripts/predict.py

import torch  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.grounding.predict import select_choice  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
select_choice(smk.wildcards.configuration, smk.params.settings, read_encounters(smk.input.validation),
              smk.params.model_dir, smk.params.n_cases, smk.params.seed, smk.input.codeset_index, smk.output.choice)
