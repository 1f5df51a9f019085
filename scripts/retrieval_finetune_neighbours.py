# Rule finetune_neighbours: neighbours of the training and validation notes among the training notes, for
# retrieval-augmented fine-tuning (claimbench.retrieval). The test split is not an input.
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import logging  # noqa: E402

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.retrieval import finetune_neighbours, load_embedder, load_embeddings  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
train_ids, train_vectors = load_embeddings(smk.input.embeddings)
validation = read_encounters(smk.input.validation)
table = finetune_neighbours(train_ids, train_vectors, validation, load_embedder(smk.params.embedder), smk.params.k,
                            smk.params.batch_size)
table.to_parquet(smk.output.neighbours, index=False)
logging.info("%s", table.groupby("split")["encounter_id"].nunique().to_dict())
