# Rule querybench_query_api: the api configuration over the code samples (or refused, empty runs saying why).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from pathlib import Path  # noqa: E402

from claimbench.querybench.pipeline import run_api  # noqa: E402

smk = snakemake  # noqa: F821
run_api(smk.params.api, smk.params.samples, smk.params.querybench, Path(smk.output.responses), Path(smk.output.meta))
