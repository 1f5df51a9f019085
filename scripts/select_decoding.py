# Rule select_decoding: a configuration's decoding settings chosen on the validation split
# (claimbench.predict.decoding). The test split is not an input.
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see scripts/predict.py

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.predict.decoding import select_decoding  # noqa: E402
from claimbench.predict.run import prompt_examples, with_grammar_limits  # noqa: E402
from claimbench.retrieval import neighbour_ids  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
train = read_encounters(smk.input.train) if "train" in smk.input.keys() else None
conf = with_grammar_limits(smk.params.settings, train)  # constrained: the bounds predict uses (training claims)
validation = read_encounters(smk.input.validation)
examples = None
if "neighbours" in smk.input.keys():
    table = pd.read_parquet(smk.input.neighbours)
    neighbours = neighbour_ids(table[table["split"] == "validation"], int(conf.get("k", 2)))
    examples = prompt_examples(conf.get("prompt"), neighbours, train, smk.input.get("hints"))
select_decoding(smk.wildcards.configuration, conf, validation, smk.params.model_dir,
                examples, smk.params.tune, smk.params.n_cases, smk.params.seed, smk.output.choice,
                smk.params.codesets)
