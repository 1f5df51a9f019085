# Rule embed_train_notes: all-MiniLM-L6-v2 embeddings of the training notes (claimbench.retrieval).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

# OpenMP threads that sleep instead of spinning while they wait: on a CPU shared with other jobs, spinning threads
# made 2-thread generation ~2.5x slower than 1 thread (measured: decode step 0.90 s spinning vs 0.34 s passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import logging  # noqa: E402

import torch  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.retrieval import embed, load_embedder, save_embeddings  # noqa: E402

torch.set_num_threads(snakemake.threads)  # noqa: F821
train = read_encounters(snakemake.input.train)  # noqa: F821
vectors = embed(list(train["op_note"]), load_embedder(snakemake.params.embedder),  # noqa: F821
                batch_size=snakemake.params.batch_size, progress=True)  # noqa: F821
save_embeddings(snakemake.output.embeddings, list(train["encounter_id"].astype(str)), vectors)  # noqa: F821
logging.info("%d training notes embedded, dimension %d", *vectors.shape)
