# Rule copying_table: how often each configuration's CPT codes are its first example claim's, and whether its own
# descriptions name the right operation (claimbench.grounding.copying).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.grounding.copying import copying_frame  # noqa: E402

smk = snakemake  # noqa: F821
files = dict(zip(smk.params.names, smk.input.predictions))
frame = copying_frame(smk.params.config, files, read_encounters(smk.input.test), read_encounters(smk.input.train),
                      smk.input.neighbours, smk.input.hints, smk.input.index)
frame.to_csv(smk.output.table, index=False)
