# Rule paper002_figures: paper 002's Figures 2, 3a and 5 from this run's tables (claimbench.paper002.figures).
import json

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import pandas as pd  # noqa: E402

from claimbench.paper002.evaluate import FINE_TUNED  # noqa: E402
from claimbench.paper002.figures import domains_figure, frequency_figure, levels_figure  # noqa: E402

smk = snakemake  # noqa: F821
summary = json.loads(open(smk.input.summary).read())
levels_figure(pd.read_csv(smk.input.levels), smk.output.levels)
domains_figure(pd.read_csv(smk.input.domains), smk.output.domains, FINE_TUNED)
rho = summary["configurations"].get(FINE_TUNED, {}).get("frequency_spearman")
frequency_figure(pd.read_csv(smk.input.frequency), smk.output.frequency, FINE_TUNED, rho)
