# Rule querybench_query_api: the api configuration over the code samples (or a refused, empty run saying why).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from pathlib import Path  # noqa: E402

from claimbench.querybench.pipeline import run_api_query  # noqa: E402

smk = snakemake  # noqa: F821
run_api_query(
    api_settings=smk.params.api,
    samples=smk.params.samples,
    qb=smk.params.querybench,
    temperature=float(smk.wildcards.temperature),
    out_jsonl=Path(smk.output.responses),
    out_meta=Path(smk.output.meta),
)
