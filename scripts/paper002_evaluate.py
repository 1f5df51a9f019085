# Rule paper002_evaluate: paper 002's levels 0-4, evidence Jaccard, CPT, domains, categories, chapters and training
# frequency for every configuration (claimbench.paper002.evaluate).
import json
import logging

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.atomic import write_text  # noqa: E402
from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.paper002.evaluate import evaluate  # noqa: E402

smk = snakemake  # noqa: F821
result = evaluate(read_encounters(smk.input.evaluation), read_encounters(smk.input.train), smk.params.predictions,
                  int(smk.params.min_category_cases), smk.params.evidence_jaccard, smk.params.codesets)
result.cases.to_parquet(smk.output.cases, index=False)
for name in ("levels", "domains", "categories", "chapters", "frequency"):
    getattr(result, name).to_csv(smk.output[name], index=False)
write_text(smk.output.summary, json.dumps(result.summary, indent=2, default=float) + "\n")
logging.info("paper 002 evaluation: %s", json.dumps(result.summary["configurations"], default=float))
