# Rule paper002_retention: medical-comprehension retention (paper 002, Table 2) of the base and the fine-tuned stand-in
# on the QA file config names (claimbench.paper002.retention); without one, a record that it was not run.
import json
import logging

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from claimbench.atomic import write_text  # noqa: E402
from claimbench.models.loading import LoadSettings  # noqa: E402
from claimbench.paper002.retention import NOT_RUN, evaluate, retention_status, retention_table  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
status = retention_status(smk.params.qa_file)
if status == NOT_RUN:
    pd.DataFrame(columns=["benchmark", "n", "baseline", "fine_tuned", "diff"]).to_csv(smk.output.table, index=False)
    record = {"status": NOT_RUN}
else:
    load = LoadSettings(**smk.params.load)
    before = evaluate(smk.params.base_dir, smk.params.qa_file, load)
    after = evaluate(smk.input.merged, smk.params.qa_file, load)
    table = retention_table(before, after)
    table.to_csv(smk.output.table, index=False)
    record = {"status": "run", "qa_file": str(smk.params.qa_file), "n_questions": int(len(before.rows)),
              "accuracy_before": before.accuracy, "accuracy_after": after.accuracy}
write_text(smk.output.status, json.dumps(record, indent=2) + "\n")
logging.info("retention: %s", record)
