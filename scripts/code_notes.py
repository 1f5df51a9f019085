# Rule code_notes: config code.notes coded by one configuration of this run (claimbench.coding), quiet (no progress
# bar in the log).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as scripts/predict.py: sleeping OpenMP threads on a shared CPU

import logging  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402

from claimbench.coding.notes import code_notes  # noqa: E402
from claimbench.coding.run import Refusal  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
try:
    code_notes(smk.input.notes, smk.wildcards.configuration, ".", smk.output.claims, progress=False)
except Refusal as refusal:
    print(f"ERROR: {refusal}", file=sys.__stderr__)  # one line on the console, not a traceback
    logging.error("%s", refusal)
    sys.exit(1)
