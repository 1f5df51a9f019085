# Rule retrieval_neighbours: each test note's k nearest training notes (claimbench.retrieval).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

# OpenMP threads that sleep instead of spinning while they wait: on a CPU shared with other jobs, spinning threads
# made 2-thread generation ~2.5x slower than 1 thread (measured: decode step 0.90 s spinning vs 0.34 s passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import logging  # noqa: E402

import torch  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.data.split import select_cases  # noqa: E402
from claimbench.retrieval import nearest_training_notes  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
test = select_cases(read_encounters(smk.input.test), smk.params.n_test_cases, smk.params.seed)
table = nearest_training_notes(test, smk.input.index, smk.input.embeddings, smk.params.embedder, smk.params.k,
                               smk.params.batch_size)
table.to_parquet(smk.output.neighbours, index=False)
logging.info("%d test notes, %d neighbours each; median nearest distance %.4f", len(test), smk.params.k,
             float(table.loc[table["rank"] == 1, "distance"].median()) if len(table) else float("nan"))
