# Rule split_encounters: 60/20/20 split balanced across surgery date (claimbench.data.split).
import logging

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import pandas as pd  # noqa: E402

from claimbench.data.io import read_encounters, write_encounters  # noqa: E402
from claimbench.data.split import SPLITS, assign_splits  # noqa: E402

frame = read_encounters(snakemake.input.encounters)  # noqa: F821
labels = assign_splits(frame, snakemake.params.fractions, seed=snakemake.params.seed)  # noqa: F821
for name, path in zip(SPLITS, snakemake.output.splits):  # noqa: F821
    write_encounters(frame[labels == name], path)
summary = pd.crosstab(frame["surgery_date"].str.slice(0, 4), labels).reindex(columns=list(SPLITS), fill_value=0)
summary.index.name = "year"
summary.to_csv(snakemake.output.summary)  # noqa: F821
logging.info("split sizes: %s", labels.value_counts().to_dict())
