# Rule predict: one configuration over the selected test cases (claimbench.predict.configuration).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

# OpenMP threads that sleep instead of spinning while they wait: on a CPU shared with other jobs, spinning threads
# made 2-thread generation ~2.5x slower than 1 thread (measured: decode step 0.90 s spinning vs 0.34 s passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.predict.configuration import predict_configuration  # noqa: E402
from claimbench.predict.decoding import apply_choice  # noqa: E402
from claimbench.data.split import select_cases  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
test = read_encounters(smk.input.test)
predict_configuration(
    smk.wildcards.configuration,
    apply_choice(smk.params.settings, smk.input.get("decoding")),  # settings chosen on the validation split
    select_cases(test, smk.params.n_test_cases, smk.params.seed),
    len(test),
    smk.output.predictions,
    smk.output.meta,
    model_dir=smk.params.model_dir,
    train=read_encounters(smk.input.train) if "train" in smk.input.keys() else None,
    neighbours=pd.read_parquet(smk.input.neighbours) if "neighbours" in smk.input.keys() else None,
    hints=smk.input.get("hints"),
    side_hints=smk.params.side_hints,
    icd10cm_files=(smk.params.codesets or {}).get("icd10cm_files"),
    data_source=smk.params.data_source,
    codeset_index=smk.input.get("codeset_index"),  # description-grounded configurations (rules/grounding.smk)
    reference_choice=smk.input.get("reference_choice"),
    grounding_choice=smk.input.get("grounding_choice"),
)
