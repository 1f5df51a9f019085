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
from claimbench.retrieval import embed, load_embedder, load_embeddings, neighbours_table, read_index, search  # noqa

torch.set_num_threads(snakemake.threads)  # noqa: F821
test = select_cases(read_encounters(snakemake.input.test), snakemake.params.n_test_cases,  # noqa: F821
                    snakemake.params.seed)  # noqa: F821
train_ids, _ = load_embeddings(snakemake.input.embeddings)  # noqa: F821
queries = embed(list(test["op_note"]), load_embedder(snakemake.params.embedder),  # noqa: F821
                batch_size=snakemake.params.batch_size)  # noqa: F821
distances, rows = search(read_index(snakemake.input.index), queries, snakemake.params.k)  # noqa: F821
table = neighbours_table(list(test["encounter_id"].astype(str)), train_ids, distances, rows)
table.to_parquet(snakemake.output.neighbours, index=False)  # noqa: F821
logging.info("%d test notes, %d neighbours each; median nearest distance %.4f", len(test), snakemake.params.k,  # noqa
             float(table.loc[table["rank"] == 1, "distance"].median()) if len(table) else float("nan"))
