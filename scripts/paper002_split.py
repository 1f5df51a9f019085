# Rule paper002_split: paper 002's fixed 95/5 split, validation slice and note-pair augmentation
# (claimbench.paper002.data).
import json
import logging

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.atomic import write_text  # noqa: E402
from claimbench.data.io import read_encounters, write_encounters  # noqa: E402
from claimbench.paper002.data import prepare  # noqa: E402

smk = snakemake  # noqa: F821
parts, summary = prepare(read_encounters(smk.input.encounters), float(smk.params.evaluation_share),
                         int(smk.params.n_validation), float(smk.params.augmentation_share), int(smk.params.seed),
                         source=smk.input.encounters)
for name in ("train", "validation", "evaluation"):
    write_encounters(parts[name], smk.output[name])
write_text(smk.output.summary, json.dumps(summary, indent=2) + "\n")
logging.info("paper 002 split: %s", summary)
