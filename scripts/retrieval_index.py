# Rule faiss_index: a FAISS flat L2 index of the training-note embeddings (claimbench.retrieval).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import logging  # noqa: E402

from claimbench.retrieval import build_index, load_embeddings, write_index  # noqa: E402

ids, vectors = load_embeddings(snakemake.input.embeddings)  # noqa: F821
index = build_index(vectors)
write_index(index, snakemake.output.index)  # noqa: F821
logging.info("IndexFlatL2 of %d vectors (dimension %d)", index.ntotal, index.d)
