"""One process of a data-parallel prediction run: ``accelerate launch ... -m claimbench.predict.worker JOB.json``.

Paper 000 (Inference): "the model was replicated across the 4 GPUs and the evaluation test set was split across the
4 GPUs and processed in parallel using the PyTorch and Accelerate libraries". Each process loads the whole model on
its own GPU, takes every n-th case, and appends to its own partial file (claimbench.predict.store); the parent
process (claimbench.predict.run.predict_llm) writes the final file from all of them.
"""

from __future__ import annotations

import json
import logging
import sys

import pandas as pd


def main(argv: list[str] | None = None) -> int:
    from claimbench.models.distributed import finish_process
    from claimbench.offline import set_offline_env
    from claimbench.predict.data_parallel import process_share
    from claimbench.predict.run import generate_cases

    set_offline_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    job = json.loads(open((argv or sys.argv[1:])[0], encoding="utf-8").read())
    state = process_share()  # rank and process count; a gloo group on CPUs
    cases = pd.read_parquet(job["cases"])
    store, _ = generate_cases(job["name"], job["conf"], cases, job["out"], job["model_dir"], job["examples"],
                              shard=state.process_index, n_shards=state.num_processes, device=str(state.device),
                              progress=state.is_main_process)
    store.close()
    state.wait_for_everyone()
    return finish_process(0)


if __name__ == "__main__":
    raise SystemExit(main())
