# Predictions (paper 000, Methods: Inference): every configuration of config `configurations` over the same seeded
# sample of the test split -> results/predictions/<configuration>.jsonl + .meta.json. Generation is resumable: a
# killed job continues from results/predictions/.partial/ on the next run. Library: claimbench.predict.
import re

from claimbench.predict.settings import LLM_METHODS, RETRIEVAL_METHODS, resolve

PREDICTIONS = f"{RESULTS}/predictions"
CONFIGURATIONS = list(config.get("configurations", {}))


def _method(name):
    return config["configurations"][name]["method"]


def predict_model_dir(name):
    """The model a configuration generates with: its base model, or its fine-tuned merged model (the directory
    output of rules/finetune.smk's merge_adapter)."""
    if _method(name) == "qlora":
        return f"{RESULTS}/finetune/{name}/merged"
    return model_dir(config["configurations"][name]["model"])


def predict_inputs(wc):
    inputs = {"test": f"{RESULTS}/data/split/test.parquet"}
    method = _method(wc.configuration)
    if method == "qlora":
        inputs["model"] = predict_model_dir(wc.configuration)  # a directory output: depend on the folder itself
    elif method in LLM_METHODS:
        inputs["model"] = f"{predict_model_dir(wc.configuration)}/config.json"
    if method in RETRIEVAL_METHODS:
        inputs["neighbours"] = f"{RESULTS}/retrieval/neighbours.parquet"
        inputs["train"] = f"{RESULTS}/data/split/train.parquet"
    return inputs


rule predict:
    input:
        unpack(predict_inputs),
    output:
        predictions=f"{PREDICTIONS}/{{configuration}}.jsonl",
        meta=f"{PREDICTIONS}/{{configuration}}.meta.json",
    wildcard_constraints:
        configuration="|".join(re.escape(c) for c in CONFIGURATIONS) or "(?!)",
    params:
        settings=lambda wc: resolve(config, wc.configuration),
        model_dir=lambda wc: predict_model_dir(wc.configuration) if _method(wc.configuration) in LLM_METHODS else None,
        n_test_cases=config["predict"]["n_test_cases"],
        seed=config["seed"],
        data_source=config["data"]["source"],
    log:
        f"{LOGS}/predict/{{configuration}}.log",
    benchmark:
        f"{BENCH}/predict/{{configuration}}.tsv"
    conda:
        CPU_ENV
    threads: lambda wc: config["predict"].get("threads", 2) if _method(wc.configuration) in LLM_METHODS else 1
    resources:
        mem_mb=lambda wc: config["predict"].get("mem_mb", 6000) if _method(wc.configuration) in LLM_METHODS else 1000,
        gpu=lambda wc: config["predict"].get("gpus", 0) if _method(wc.configuration) in LLM_METHODS else 0,
    script:
        "../scripts/predict.py"


rule predictions:
    """All configurations' prediction files."""
    input:
        expand(f"{PREDICTIONS}/{{configuration}}.jsonl", configuration=CONFIGURATIONS),
