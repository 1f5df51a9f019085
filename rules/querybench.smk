# Code-querying benchmark (paper 003): description -> code for ICD-9-CM, ICD-10-CM and CPT. An independent branch:
# sample codes -> query each model (free decoding at every temperature of the sweep; trie-constrained decoding
# beyond the paper) -> score each run -> the paper's tables and the sweep figure. Library: claimbench.querybench.
from claimbench.querybench.pipeline import SYSTEM_KEYS, query_model_dir, run_files

QB = f"{RESULTS}/querybench"
QB_CONFIG = config["querybench"]
QB_SAMPLES = {key: f"{QB}/sample/{key}.parquet" for key in SYSTEM_KEYS}
QB_RUN = "{model}/{mode}_t{temperature}"  # one run: a model, a decoding mode, a temperature


rule querybench_sample:
    output:
        sample=f"{QB}/sample/{{system}}.parquet",
    wildcard_constraints:
        system="|".join(SYSTEM_KEYS),
    params:
        querybench=QB_CONFIG,
        codesets=config["codesets"],
        seed=config["seed"],
    log:
        f"{LOGS}/querybench_sample/{{system}}.log",
    benchmark:
        f"{BENCH}/querybench_sample/{{system}}.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=3000,
    script:
        "../scripts/querybench_sample.py"


rule querybench_query:
    input:
        # a converted/tiny model's config.json, or a fine-tuned model's merged folder (a directory output)
        model=lambda wc: (
            QB_CONFIG["finetuned"][wc.model]
            if wc.model in (QB_CONFIG.get("finetuned") or {})
            else f"{model_dir(wc.model)}/config.json"
        ),
        samples=QB_SAMPLES.values(),
    output:
        responses=f"{QB}/responses/{{model}}/{{mode}}_t{{temperature}}.jsonl",
        meta=f"{QB}/responses/{{model}}/{{mode}}_t{{temperature}}.meta.json",
    wildcard_constraints:
        model=r"(?!api/)[^/]+",  # the api configuration has its own rule below
        mode="free|trie",
        temperature=r"[0-9]+(\.[0-9]+)?",
    params:
        samples=QB_SAMPLES,
        querybench=QB_CONFIG,
        codesets=config["codesets"],
        seed=config["seed"],
        meta=lambda wc: {
            "stands_in_for": config["models"].get(wc.model, {}).get("stands_in_for"),
            "model_dir": query_model_dir(wc.model, QB_CONFIG, model_dir),
        },
    log:
        f"{LOGS}/querybench_query/{{model}}_{{mode}}_t{{temperature}}.log",
    benchmark:
        f"{BENCH}/querybench_query/{{model}}_{{mode}}_t{{temperature}}.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=6000,
    script:
        "../scripts/querybench_query.py"


rule querybench_query_api:
    """The api configuration (configurations.api), when querybench.api is true; refused unless enabled there."""
    input:
        samples=QB_SAMPLES.values(),
    output:
        responses=f"{QB}/responses/api/free_t{{temperature}}.jsonl",
        meta=f"{QB}/responses/api/free_t{{temperature}}.meta.json",
    wildcard_constraints:
        temperature=r"[0-9]+(\.[0-9]+)?",
    params:
        samples=QB_SAMPLES,
        querybench=QB_CONFIG,
        api=config.get("configurations", {}).get("api", {}),
    log:
        f"{LOGS}/querybench_query/api_free_t{{temperature}}.log",
    benchmark:
        f"{BENCH}/querybench_query/api_free_t{{temperature}}.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/querybench_query_api.py"


rule querybench_score:
    input:
        responses=f"{QB}/responses/{{model}}/{{mode}}_t{{temperature}}.jsonl",
        meta=f"{QB}/responses/{{model}}/{{mode}}_t{{temperature}}.meta.json",
    output:
        scored=f"{QB}/scored/{{model}}/{{mode}}_t{{temperature}}.parquet",
        summary=f"{QB}/scored/{{model}}/{{mode}}_t{{temperature}}.summary.csv",
    wildcard_constraints:
        mode="free|trie",
        temperature=r"[0-9]+(\.[0-9]+)?",
    params:
        querybench=QB_CONFIG,
        codesets=config["codesets"],
        nltk_data=config.get("evaluation", {}).get("nltk_data"),
    log:
        f"{LOGS}/querybench_score/{{model}}_{{mode}}_t{{temperature}}.log",
    benchmark:
        f"{BENCH}/querybench_score/{{model}}_{{mode}}_t{{temperature}}.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/querybench_score.py"


QB_TABLES = {
    name: f"{QB}/tables/{name}.csv"
    for name in (
        "summary", "exact_match", "similarity", "error_icd9cm", "error_icd10cm", "error_cpt", "constrained", "sweep",
        "runs", "samples",
    )
}


rule querybench_tables:
    input:
        summaries=run_files(QB_CONFIG, f"{QB}/scored/{QB_RUN}.summary.csv"),
        scored=run_files(QB_CONFIG, f"{QB}/scored/{QB_RUN}.parquet"),
        metas=run_files(QB_CONFIG, f"{QB}/responses/{QB_RUN}.meta.json"),
        samples=QB_SAMPLES.values(),
    output:
        **QB_TABLES,
        sweep_figure=f"{QB}/tables/sweep.png",
    params:
        querybench=QB_CONFIG,
    log:
        f"{LOGS}/querybench_tables.log",
    benchmark:
        f"{BENCH}/querybench_tables.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=3000,
    script:
        "../scripts/querybench_tables.py"


REPORT_INPUTS.update({f"querybench_{name}": path for name, path in QB_TABLES.items()})
REPORT_INPUTS["querybench_sweep_figure"] = f"{QB}/tables/sweep.png"
