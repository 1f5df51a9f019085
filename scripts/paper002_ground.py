# Rule paper002_ground: the fine-tuned stand-in's words resolved to valid codes (beyond the paper;
# claimbench.paper002.grounded).
import json
import logging
import time

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.atomic import write_text  # noqa: E402
from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.paper002.grounded import ground_predictions, meta  # noqa: E402

smk = snakemake  # noqa: F821
start = time.perf_counter()
with open(smk.input.predictions, encoding="utf-8") as handle:
    rows = [json.loads(line) for line in handle if line.strip()]
with open(smk.input.source_meta, encoding="utf-8") as handle:
    source_meta = json.load(handle)
grounded = ground_predictions(rows, read_encounters(smk.input.evaluation), read_encounters(smk.input.train),
                              smk.input.index, smk.params.settings, smk.params.codesets)
write_text(smk.output.predictions, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in grounded))
facts = meta(grounded, source_meta, time.perf_counter() - start)
write_text(smk.output.meta, json.dumps(facts, indent=1) + "\n")
logging.info("paper 002 grounded: %d charts, %d of %d entries resolved", facts["n_cases"], facts["n_resolved"],
             facts["n_entries"])
