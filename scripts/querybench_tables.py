# Rule querybench_tables: paper 003's tables with the cited paper rows, the constrained-decoding table, the
# temperature sweep (table + figure) and the run log (tokens/s).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from pathlib import Path  # noqa: E402

from claimbench.querybench.pipeline import write_tables  # noqa: E402

smk = snakemake  # noqa: F821
write_tables(
    summaries=list(smk.input.summaries),
    scored=list(smk.input.scored),
    metas=list(smk.input.metas),
    samples=list(smk.input.samples),
    qb=smk.params.querybench,
    outputs={name: Path(path) for name, path in smk.output.items()},
)
