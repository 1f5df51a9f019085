# Rule evidence_anchors: the training split's clauses with the codes they are evidence for, and the code descriptions,
# embedded once (claimbench.grounding.evidence). Reads the training split only.
import logging

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see scripts/retrieval_embed.py

import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.grounding.codeset_index import load_codesets  # noqa: E402
from claimbench.grounding.evidence import save_anchors, training_anchors  # noqa: E402
from claimbench.retrieval import load_embedder  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
settings = smk.params.settings
with threadpool_limits(limits=smk.threads):
    anchors = training_anchors(read_encounters(smk.input.train), load_codesets(smk.input.index),
                               load_embedder(settings.get("embedder")), int(settings.get("batch_size", 64)))
save_anchors(smk.output.anchors, anchors)
logging.info("evidence anchors: %s", {system: len(a.codes) for system, a in anchors.items()})
