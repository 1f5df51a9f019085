# Rule cohort_table1: paper 000 Table 1 for this run's cohort (claimbench.cohort.table1).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.cohort import table1  # noqa: E402
from claimbench.data.io import read_encounters  # noqa: E402

table1(read_encounters(snakemake.input.encounters)).to_csv(snakemake.output.table, index=False)  # noqa: F821
