# Rule generate_synthetic: the default data source (claimbench.data.synthetic), each encounter's style-shifted note
# (the held-out phrasing bank; claimbench.data.shift) and the dataset diagnostics (claimbench.data.diagnostics).
import json
import logging

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import pandas as pd  # noqa: E402

from claimbench.data.diagnostics import dataset_diagnostics  # noqa: E402
from claimbench.data.io import write_encounters  # noqa: E402
from claimbench.data.synthetic import SyntheticSettings, generate_extract_and_shift  # noqa: E402

settings = SyntheticSettings.from_config(snakemake.params.synthetic, seed=snakemake.params.seed)  # noqa: F821
logging.info("generating %d synthetic encounters (years %s, seed %d)", settings.n_encounters, settings.years, settings.seed)
records, choices, shifted = generate_extract_and_shift(settings, cpt_catalog_path=snakemake.params.cpt_catalog,  # noqa
                                                      icd10cm_files=snakemake.params.icd10cm_files)  # noqa: F821
for record, choice in zip(records, choices):
    record["fiscal_year"] = choice["fiscal_year"]
write_encounters(records, snakemake.output.extract)  # noqa: F821
pd.DataFrame(shifted).to_parquet(snakemake.output.shifted, index=False)  # noqa: F821
with open(snakemake.output.choices, "w") as handle:  # noqa: F821
    for choice in choices:
        handle.write(json.dumps(choice) + "\n")
diagnostics = dataset_diagnostics(records, choices)
with open(snakemake.output.diagnostics, "w") as handle:  # noqa: F821
    json.dump(diagnostics, handle, indent=2)
logging.info("wrote %d encounters; %d labels kept, %d discarded %s", len(records), diagnostics["discards"]["n_kept"],
             diagnostics["discards"]["n_discarded"], diagnostics["discards"]["by_reason"])
