# Rules code_hints / finetune_code_hints: one code-hint block per query note (claimbench.lexicon), beyond the paper,
# for prompt kind rag_lexicon. The lexicon comes from the training split only; a training note's own evidence is left
# out of its hints.
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import logging  # noqa: E402

import torch  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.lexicon import code_hint_table  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
# each query file with its own number of lexical neighbours (params.lexical_k, in input order; 0 = none listed)
table = code_hint_table([read_encounters(path) for path in smk.input.queries], smk.params.lexical_k,
                        read_encounters(smk.input.train), smk.params.embedder, smk.params.batch_size,
                        smk.params.cpt_hints, smk.params.cpt_catalog, smk.params.side_hints, smk.params.icd10cm_files)
table.to_parquet(smk.output.hints, index=False)
found = table["hints"].str.count("\n").mean()
lexical = int(table["neighbours"].notna().sum()) if "neighbours" in table else 0
logging.info("%d hint blocks; mean %.1f lines; %d with lexical neighbours", len(table), found, lexical)
