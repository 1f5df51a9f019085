# Rule cohort_figures: paper 000 Figure 1 (note token lengths) and Figure 2 (code counts) (claimbench.cohort).
import json
from pathlib import Path

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

import pandas as pd  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from claimbench import cohort  # noqa: E402
from claimbench.data.io import read_encounters  # noqa: E402

frame = read_encounters(snakemake.input.encounters)  # noqa: F821
tokenizer = AutoTokenizer.from_pretrained(Path(snakemake.input.tokenizer).parent)  # noqa: F821
lengths = cohort.token_lengths(frame["op_note"].tolist(), tokenizer)
name = snakemake.params.tokenizer_model  # noqa: F821
cohort.figure1(lengths, name, snakemake.output.figure1)  # noqa: F821
with open(snakemake.output.lengths, "w") as handle:  # noqa: F821
    json.dump({"tokenizer_model": name, **cohort.length_summary(lengths)}, handle, indent=2)
cohort.figure2(frame, snakemake.output.figure2)  # noqa: F821
icd, cpt = cohort.code_counts(frame)
rows = [("ICD-10-CM", code, n) for code, n in icd.most_common()] + [("CPT", code, n) for code, n in cpt.most_common()]
pd.DataFrame(rows, columns=["system", "code", "cases"]).to_csv(snakemake.output.counts, index=False)  # noqa: F821
