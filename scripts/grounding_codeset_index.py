# Rule codeset_index: the code sets' descriptions with per-year validity, the CPT catalog embedded
# (claimbench.grounding.codeset_index).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import os  # noqa: E402

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see scripts/retrieval_embed.py

import json  # noqa: E402
import logging  # noqa: E402

import torch  # noqa: E402

from claimbench.grounding.codeset_index import build_codesets, run_years, save_codesets  # noqa: E402
from claimbench.retrieval import load_embedder  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
settings, codesets = smk.params.settings, smk.params.codesets
cms_files = codesets.get("icd10cm_files") or {}
index, facts = build_codesets(run_years(cms_files), load_embedder(settings.get("embedder")), cms_files,
                              codesets.get("cpt_catalog"), embed_icd10cm=settings.get("shortlist") is None,
                              batch_size=int(settings.get("batch_size", 64)))
save_codesets(smk.output.index, index)
logging.info("code-set index: %s", json.dumps(facts))
