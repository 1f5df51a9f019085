# Predictions (paper 000, Methods: Inference): every configuration of config `configurations` over the whole test
# split (or the same seeded sample of it, predict.n_test_cases) -> results/predictions/<configuration>.jsonl +
# .meta.json. Generation is resumable: a killed job continues from results/predictions/.partial/ on the next run.
# Configurations with `constrained: claim_grammar` (beyond the paper) compile the claim grammar of each fiscal year
# among their cases inside this job (claimbench.models.claim_grammar). Library: claimbench.predict.
from claimbench.plan import names_pattern
from claimbench.plan.predict import (
    configuration_pattern,
    decoding_inputs,
    is_llm,
    predict_inputs,
    predict_model_dir,
    resolve,
    tuned_configurations,
)

PREDICTIONS = f"{RESULTS}/predictions"
CONFIGURATIONS = list(config.get("configurations", {}))
PREDICT = config.get("predict", {})


rule predict:
    input:
        unpack(lambda wc: predict_inputs(config, wc.configuration, model_dir, LAYOUT)),
    output:
        predictions=LAYOUT.predictions("{configuration}"),
        meta=LAYOUT.predictions("{configuration}", "meta.json"),
    wildcard_constraints:
        configuration=configuration_pattern(config),
    params:
        settings=lambda wc: resolve(config, wc.configuration),
        model_dir=lambda wc: predict_model_dir(config, wc.configuration, model_dir, LAYOUT),
        n_test_cases=PREDICT.get("n_test_cases"),
        seed=config["seed"],
        data_source=config["data"]["source"],
        side_hints=config["retrieval"]["side_hints"],  # knn+lexicon, as the hints (rules/retrieval.smk)
        codesets=config.get("codesets", {}),
    log:
        f"{LOGS}/predict/{{configuration}}.log",
    benchmark:
        f"{BENCH}/predict/{{configuration}}.tsv"
    conda:
        # the GPU env where config `predict` asks for GPUs or FlashAttention-2 (profiles/paper); knn and api need none
        lambda wc: model_env(PREDICT) if is_llm(config, wc.configuration) else CPU_ENV
    threads: lambda wc: PREDICT.get("threads", 2) if is_llm(config, wc.configuration) else 1
    resources:
        mem_mb=lambda wc: PREDICT.get("mem_mb", 6000) if is_llm(config, wc.configuration) else 1000,
        gpu=lambda wc: PREDICT.get("gpus", 0) if is_llm(config, wc.configuration) else 0,
    priority: lambda wc: scheduling.predict_priority(config, wc.configuration)
    script:
        "../scripts/predict.py"


rule select_decoding:
    """Decoding settings chosen on a seeded sample of the validation split (configurations.<name>.tune_decoding;
    beyond the paper, whose settings are fixed). Library: claimbench.predict.decoding."""
    input:
        unpack(lambda wc: decoding_inputs(config, wc.configuration, model_dir, LAYOUT)),
    output:
        choice=LAYOUT.decoding_choice("{configuration}"),
    wildcard_constraints:
        configuration=names_pattern(tuned_configurations(config)),
    params:
        settings=lambda wc: resolve(config, wc.configuration),
        model_dir=lambda wc: predict_model_dir(config, wc.configuration, model_dir, LAYOUT),
        tune=lambda wc: config["configurations"][wc.configuration]["tune_decoding"],
        n_cases=PREDICT.get("n_validation_cases", 8),
        seed=config["seed"],
        codesets=config.get("codesets", {}),
    log:
        f"{LOGS}/select_decoding/{{configuration}}.log",
    benchmark:
        f"{BENCH}/select_decoding/{{configuration}}.tsv"
    conda:
        model_env(PREDICT)  # it generates as predict does
    threads: PREDICT.get("threads", 2)
    resources:
        mem_mb=PREDICT.get("mem_mb", 6000),
        gpu=PREDICT.get("gpus", 0),
    priority: scheduling.TUNING
    script:
        "../scripts/select_decoding.py"


rule predictions:
    """All configurations' prediction files."""
    input:
        expand(LAYOUT.predictions("{configuration}"), configuration=CONFIGURATIONS),


rule predictions_summary:
    """The configurations and their runs in one table (report section _models.qmd)."""
    input:
        metas=expand(LAYOUT.predictions("{configuration}", "meta.json"), configuration=CONFIGURATIONS),
    output:
        summary=f"{PREDICTIONS}/summary.csv",
    params:
        metas={name: LAYOUT.predictions(name, "meta.json") for name in CONFIGURATIONS},
        settings={name: resolve(config, name) for name in CONFIGURATIONS},
    log:
        f"{LOGS}/predictions_summary.log",
    benchmark:
        f"{BENCH}/predictions_summary.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/predictions_summary.py"


REPORT_INPUTS["models_summary"] = rules.predictions_summary.output.summary
