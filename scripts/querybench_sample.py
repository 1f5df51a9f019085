# Rule querybench_sample: a seeded sample of one code system's codes and descriptions (claimbench.querybench).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from pathlib import Path  # noqa: E402

from claimbench.querybench.pipeline import build_sample  # noqa: E402

build_sample(
    snakemake.wildcards.system,  # noqa: F821
    snakemake.params.querybench,  # noqa: F821
    snakemake.params.codesets,  # noqa: F821
    int(snakemake.params.seed),  # noqa: F821
    Path(snakemake.output.sample),  # noqa: F821
)
