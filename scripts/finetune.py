# Rule finetune: QLoRA fine-tuning of one configuration (claimbench.models.finetune), in-process on a CPU or through
# `accelerate launch` (DeepSpeed ZeRO-3 on several GPUs) when finetune.launch.accelerate_config is set.
import json
import sys
from pathlib import Path

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.models.distributed import threads_per_process  # noqa: E402
from claimbench.models.launch import accelerate_command, run_logged, uses_accelerate  # noqa: E402

job = {
    **snakemake.params.job,  # noqa: F821
    "train": snakemake.input.train,  # noqa: F821
    "validation": snakemake.input.validation,  # noqa: F821
    "adapter_dir": snakemake.output.adapter,  # noqa: F821
    "stats": snakemake.output.stats,  # noqa: F821
    # each process's share of the rule's threads (several processes under accelerate launch)
    "threads": threads_per_process(snakemake.threads, snakemake.params.job["settings"].get("launch")),  # noqa: F821
}
if "neighbours" in snakemake.input.keys():  # noqa: F821 (retrieval-augmented fine-tuning)
    import pandas as pd

    from claimbench.data.io import read_encounters
    from claimbench.predict.run import prompt_examples
    from claimbench.retrieval import neighbour_ids

    neighbours = neighbour_ids(pd.read_parquet(snakemake.input.neighbours), job["k"])  # noqa: F821
    train = read_encounters(snakemake.input.train)  # noqa: F821
    hints = snakemake.input.get("hints")  # noqa: F821 (prompt rag_lexicon: the code hints)
    job["example_claims"] = prompt_examples(job["prompt"], neighbours, train, hints)
launch = job["settings"].get("launch")
if uses_accelerate(launch):
    # Every process reads the same job file; it stays beside the outputs as a record of what was run.
    job_file = Path(snakemake.output.stats).parent / "job.json"  # noqa: F821
    job_file.parent.mkdir(parents=True, exist_ok=True)
    job_file.write_text(json.dumps(job, indent=2) + "\n")
    sys.stdout.flush()
    run_logged(accelerate_command(launch, "claimbench.models.finetune", [job_file]), snakemake.log[0])  # noqa: F821
else:
    from claimbench.models.finetune import run_finetune

    run_finetune(job)
