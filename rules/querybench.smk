# Code-querying benchmark (paper 003): description -> code for ICD-9-CM, ICD-10-CM and CPT. An independent branch:
# sample codes -> query each model (one job per model: free decoding at every temperature of the sweep, and
# trie-constrained decoding beyond the paper) -> score each model's runs -> the paper's tables and the sweep figure.
# Library: claimbench.querybench (pipeline.py holds the entry point of each step).
from claimbench.querybench.pipeline import API_MODEL, SYSTEM_KEYS, query_model_dir, query_models

QB = f"{RESULTS}/querybench"
QUERY = "Code querying (paper 003)"  # category in `snakemake --report`
QB_CONFIG = config["querybench"]
QB_MODELS = query_models(QB_CONFIG)
QB_SAMPLES = {key: f"{QB}/sample/{key}.parquet" for key in SYSTEM_KEYS}


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
    priority: scheduling.OTHER_GENERATION
    script:
        "../scripts/querybench_sample.py"


rule querybench_query:
    """Every run of one local model: free decoding at each temperature, trie-constrained at the configured ones."""
    input:
        # a converted/tiny model's config.json, or a fine-tuned model's merged folder (a directory output)
        model=lambda wc: (
            QB_CONFIG["finetuned"][wc.model]
            if wc.model in (QB_CONFIG.get("finetuned") or {})
            else f"{model_dir(wc.model)}/config.json"
        ),
        samples=QB_SAMPLES.values(),
    output:
        responses=f"{QB}/responses/{{model}}.jsonl",
        meta=f"{QB}/responses/{{model}}.meta.json",
    wildcard_constraints:
        model=f"(?!{API_MODEL}\\.)[^/]+",  # the api configuration has its own rule below
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
        f"{LOGS}/querybench_query/{{model}}.log",
    benchmark:
        f"{BENCH}/querybench_query/{{model}}.tsv"
    conda:
        CPU_ENV
    threads: 1  # one thread per job: on a shared 2-core machine more threads spin and slow down
    resources:
        mem_mb=6000,
    priority: scheduling.OTHER_GENERATION
    script:
        "../scripts/querybench_query.py"


rule querybench_query_api:
    """The api configuration (configurations.api), when querybench.api is true; refused unless enabled there."""
    input:
        samples=QB_SAMPLES.values(),
    output:
        responses=f"{QB}/responses/{API_MODEL}.jsonl",
        meta=f"{QB}/responses/{API_MODEL}.meta.json",
    params:
        samples=QB_SAMPLES,
        querybench=QB_CONFIG,
        api=config.get("configurations", {}).get("api", {}),
    log:
        f"{LOGS}/querybench_query/{API_MODEL}.log",
    benchmark:
        f"{BENCH}/querybench_query/{API_MODEL}.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/querybench_query_api.py"


rule querybench_score:
    input:
        responses=f"{QB}/responses/{{model}}.jsonl",
    output:
        scored=f"{QB}/scored/{{model}}.parquet",
        summary=f"{QB}/scored/{{model}}.summary.csv",
    params:
        querybench=QB_CONFIG,
        codesets=config["codesets"],
        nltk_data=config.get("evaluation", {}).get("nltk_data"),
    log:
        f"{LOGS}/querybench_score/{{model}}.log",
    benchmark:
        f"{BENCH}/querybench_score/{{model}}.tsv"
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
        summaries=expand(f"{QB}/scored/{{model}}.summary.csv", model=QB_MODELS),
        scored=expand(f"{QB}/scored/{{model}}.parquet", model=QB_MODELS),
        metas=expand(f"{QB}/responses/{{model}}.meta.json", model=QB_MODELS),
        samples=QB_SAMPLES.values(),
    output:
        **{name: path for name, path in QB_TABLES.items() if name != "exact_match"},
        exact_match=report(
            QB_TABLES["exact_match"], caption="../report/captions/querybench_exact_match.rst", category=QUERY
        ),
        sweep_figure=report(
            f"{QB}/tables/sweep.png", caption="../report/captions/querybench_sweep.rst", category=QUERY
        ),
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


rule querybench_taxonomy:
    input:
        scored=expand(f"{QB}/scored/{{model}}.parquet", model=QB_MODELS),
    output:
        table=f"{QB}/tables/taxonomy.csv",
    params:
        querybench=QB_CONFIG,
        codesets=config["codesets"],
        n_resamples=BOOTSTRAP_RESAMPLES,
        seed=BOOTSTRAP_SEED,
    log:
        f"{LOGS}/querybench_taxonomy.log",
    benchmark:
        f"{BENCH}/querybench_taxonomy.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/querybench_taxonomy.py"


REPORT_INPUTS.update({f"querybench_{name}": path for name, path in QB_TABLES.items()})
REPORT_INPUTS["querybench_taxonomy"] = rules.querybench_taxonomy.output.table
REPORT_INPUTS["querybench_sweep_figure"] = f"{QB}/tables/sweep.png"
