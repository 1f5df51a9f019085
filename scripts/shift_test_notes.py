# Rule shift_test_notes: the style-shifted test set, a seeded sample of the predicted test cases with the notes the
# held-out phrasing bank wrote for them (claimbench.data.shift).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from claimbench.data.io import read_encounters, write_encounters  # noqa: E402
from claimbench.data.shift import shifted_test  # noqa: E402

smk = snakemake  # noqa: F821
cases = shifted_test(read_encounters(smk.input.test), pd.read_parquet(smk.input.shifted), smk.params.n_test_cases,
                     smk.params.n_shifted_cases, smk.params.seed)
write_encounters(cases, smk.output.test)
logging.info("%d style-shifted test notes", len(cases))
