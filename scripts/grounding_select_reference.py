# Rule select_grounding_reference: the no-LM reference's settings chosen on the validation split
# (claimbench.grounding.reference). The test split is not an input.
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see scripts/retrieval_embed.py

import torch  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.grounding.reference_selection import write_choice  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
write_choice(read_encounters(smk.input.validation), smk.input.index, smk.params.settings, smk.params.codesets,
             smk.output.choice, anchors=smk.input.anchors if "anchors" in smk.input.keys() else None)
