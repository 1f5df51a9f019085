# Rule predict: one configuration over the selected test cases (claimbench.predict.run).
from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import json  # noqa: E402
import os  # noqa: E402

# OpenMP threads that sleep instead of spinning while they wait: on a CPU shared with other jobs, spinning threads
# made 2-thread generation ~2.5x slower than 1 thread (measured: decode step 0.90 s spinning vs 0.34 s passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from claimbench.data.io import read_encounters  # noqa: E402
from claimbench.grounding.predict import ground_prediction_file, predict_reference  # noqa: E402
from claimbench.predict.decoding import apply_choice  # noqa: E402
from claimbench.predict.run import (  # noqa: E402
    hint_neighbours,
    lexicon_claims,
    predict_api,
    predict_knn,
    predict_llm,
    prompt_examples,
    select_cases,
    with_grammar_limits,
)
from claimbench.retrieval import neighbour_ids  # noqa: E402

smk = snakemake  # noqa: F821
torch.set_num_threads(smk.threads)
name = smk.wildcards.configuration
conf = apply_choice(smk.params.settings, smk.input.get("decoding"))  # settings chosen on the validation split
test = read_encounters(smk.input.test)
cases = select_cases(test, smk.params.n_test_cases, smk.params.seed)
out, meta = smk.output.predictions, smk.output.meta

train = read_encounters(smk.input.train) if "train" in smk.input.keys() else None
conf = with_grammar_limits(conf, train)  # constrained configurations: bounds from config or the training split

examples = None
if "neighbours" in smk.input.keys():
    k = 1 if conf["method"] == "knn" else int(conf.get("k", 2))
    neighbours = neighbour_ids(pd.read_parquet(smk.input.neighbours), k)
    if conf.get("icd10") == "lexicon":  # knn reference with the lexicon's ICD-10-CM codes (and its neighbours)
        neighbours = hint_neighbours(smk.input.hints, neighbours)
        examples = lexicon_claims(neighbours, train, cases, smk.params.side_hints,
                                  (smk.params.codesets or {}).get("icd10cm_files"))
    else:
        examples = prompt_examples(conf.get("prompt"), neighbours, train, smk.input.get("hints"))

if conf["method"] == "grounded":  # beyond the paper: the note's lines resolved to codes (claimbench.grounding)
    predict_reference(name, conf, cases, len(test), out, meta, smk.input.codeset_index, smk.input.reference_choice)
elif conf["method"] == "knn":
    predict_knn(name, conf, cases, len(test), out, meta, examples)
elif conf["method"] == "api":
    predict_api(name, conf, cases, len(test), out, meta, smk.params.data_source, examples)
else:
    predict_llm(name, conf, cases, len(test), out, meta, smk.params.model_dir, examples)
    if "codeset_index" in smk.input.keys():  # a describe configuration: its descriptions resolved to codes
        choice = json.loads(open(smk.input.grounding_choice, encoding="utf-8").read())["chosen"]  # on validation
        ground_prediction_file(out, meta, cases, smk.input.codeset_index, conf["grounding"], choice,
                               smk.params.model_dir, conf.get("load"))
