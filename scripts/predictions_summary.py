# Rule predictions_summary: configurations and their prediction runs in one table (claimbench.predict.summary).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.predict.summary import summarize  # noqa: E402

table = summarize(snakemake.params.metas, snakemake.params.settings)  # noqa: F821
table.to_csv(snakemake.output.summary, index=False)  # noqa: F821
print(table.to_string())
