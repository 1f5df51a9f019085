# Evaluation (paper 000: Evaluation; Results: Table 2, Figure 3, Code Validity, Format Consistency, Fine Tuning).
# Per configuration: results/predictions/<c>.jsonl -> results/evaluation/cases/<c>.parquet (parse, match, validity,
# ROUGE/METEOR). Then the summaries: metrics, Table 2 beside the paper, per-service breakdown, bootstrap and Figure 3,
# the report's headline (F1 with 95% intervals; the paper's ordering: yes / no / not separable from the paired
# bootstrap interval of each F1 difference, McNemar on full match), training statistics; beyond the paper, how each
# generated code is wrong (error taxonomy) and where each configuration fails (F1 by training frequency, note length,
# codes per case).
# Library: claimbench.evaluation (pipeline.py is the entry point of each step).
from claimbench.plan.configurations import configuration_names, finetuned_names

EVAL = f"{RESULTS}/evaluation"
CLAIMS = "Claim generation (paper 000)"  # category in `snakemake --report`
EVAL_CONFIGURATIONS = configuration_names(config)
EVAL_FINETUNED = [name for name in finetuned_names(config) if name in EVAL_CONFIGURATIONS]
# configuration -> file, in config order
EVAL_CASES = {name: f"{EVAL}/cases/{name}.parquet" for name in EVAL_CONFIGURATIONS}
EVAL_METAS = {name: LAYOUT.predictions(name, "meta.json") for name in EVAL_CONFIGURATIONS}


rule evaluate_cases:
    input:
        predictions=LAYOUT.predictions("{configuration}"),
        meta=LAYOUT.predictions("{configuration}", "meta.json"),
        test=LAYOUT.split("test"),
    output:
        cases=f"{EVAL}/cases/{{configuration}}.parquet",
    wildcard_constraints:
        configuration=r"[^/]+",
    params:
        codesets=config["codesets"],
        evaluation=config["evaluation"],
    log:
        f"{LOGS}/evaluate_cases/{{configuration}}.log",
    benchmark:
        f"{BENCH}/evaluate_cases/{{configuration}}.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/evaluate_cases.py"


rule evaluate_summary:
    input:
        cases=list(EVAL_CASES.values()),
        metas=list(EVAL_METAS.values()),
    output:
        metrics=f"{EVAL}/metrics.csv",
        table2=report(f"{EVAL}/table2.csv", caption="../report/captions/table2.rst", category=CLAIMS),
        per_service=f"{EVAL}/per_service.csv",
        configurations=f"{EVAL}/configurations.csv",
    params:
        cases=EVAL_CASES,
        metas=EVAL_METAS,
        paper_columns=config["evaluation"]["paper_columns"],
    log:
        f"{LOGS}/evaluate_summary.log",
    benchmark:
        f"{BENCH}/evaluate_summary.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/evaluate_summary.py"


rule evaluate_bootstrap:
    input:
        cases=list(EVAL_CASES.values()),
        metas=list(EVAL_METAS.values()),
    output:
        replicates=f"{EVAL}/bootstrap_replicates.parquet",
        intervals=report(
            f"{EVAL}/bootstrap_intervals.csv", caption="../report/captions/bootstrap.rst", category=CLAIMS
        ),
    params:
        cases=EVAL_CASES,
        metas=EVAL_METAS,
        n_resamples=BOOTSTRAP_RESAMPLES,
        seed=BOOTSTRAP_SEED,
    log:
        f"{LOGS}/evaluate_bootstrap.log",
    benchmark:
        f"{BENCH}/evaluate_bootstrap.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=6000,
    script:
        "../scripts/evaluate_bootstrap.py"


rule evaluate_figure3:
    input:
        replicates=rules.evaluate_bootstrap.output.replicates,
        configurations=rules.evaluate_summary.output.configurations,
    output:
        figure=report(f"{EVAL}/figure3_bootstrap.png", caption="../report/captions/figure3.rst", category=CLAIMS),
    params:
        paper_columns=config["evaluation"]["paper_columns"],
    log:
        f"{LOGS}/evaluate_figure3.log",
    benchmark:
        f"{BENCH}/evaluate_figure3.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/evaluate_figure3.py"


rule evaluate_verdict:
    input:
        metrics=rules.evaluate_summary.output.metrics,
        intervals=rules.evaluate_bootstrap.output.intervals,
        replicates=rules.evaluate_bootstrap.output.replicates,
        configurations=rules.evaluate_summary.output.configurations,
        cases=list(EVAL_CASES.values()),
    output:
        headline=f"{EVAL}/headline_f1.csv",
        verdicts=f"{EVAL}/ordering_verdict.csv",
        paired=f"{EVAL}/paired_comparisons.csv",
    params:
        cases=EVAL_CASES,
    log:
        f"{LOGS}/evaluate_verdict.log",
    benchmark:
        f"{BENCH}/evaluate_verdict.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/evaluate_verdict.py"


rule evaluate_taxonomy:
    input:
        cases=list(EVAL_CASES.values()),
        metas=list(EVAL_METAS.values()),
    output:
        table=f"{EVAL}/taxonomy.csv",
        codes=f"{EVAL}/taxonomy_codes.csv",
        figure=report(f"{EVAL}/taxonomy.png", caption="../report/captions/taxonomy.rst", category=CLAIMS),
    params:
        cases=EVAL_CASES,
        metas=EVAL_METAS,
        codesets=config["codesets"],
        n_resamples=BOOTSTRAP_RESAMPLES,
        seed=BOOTSTRAP_SEED,
    log:
        f"{LOGS}/evaluate_taxonomy.log",
    benchmark:
        f"{BENCH}/evaluate_taxonomy.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=3000,
    script:
        "../scripts/evaluate_taxonomy.py"


rule evaluate_breakdowns:
    input:
        cases=list(EVAL_CASES.values()),
        metas=list(EVAL_METAS.values()),
        train=f"{RESULTS}/data/split/train.parquet",
        test=f"{RESULTS}/data/split/test.parquet",
    output:
        table=f"{EVAL}/breakdowns.csv",
        figure=report(f"{EVAL}/breakdowns.png", caption="../report/captions/breakdowns.rst", category=CLAIMS),
    params:
        cases=EVAL_CASES,
        metas=EVAL_METAS,
    log:
        f"{LOGS}/evaluate_breakdowns.log",
    benchmark:
        f"{BENCH}/evaluate_breakdowns.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/evaluate_breakdowns.py"


rule evaluate_training:
    input:
        stats=[LAYOUT.finetuned(name, "train_stats.json") for name in EVAL_FINETUNED],
        metas=[LAYOUT.predictions(name, "meta.json") for name in EVAL_FINETUNED],
    output:
        table=report(f"{EVAL}/training_stats.csv", caption="../report/captions/training.rst", category=CLAIMS),
    params:
        stats={name: LAYOUT.finetuned(name, "train_stats.json") for name in EVAL_FINETUNED},
        metas={name: LAYOUT.predictions(name, "meta.json") for name in EVAL_FINETUNED},
        paper_columns=config["evaluation"]["paper_columns"],
    log:
        f"{LOGS}/evaluate_training.log",
    benchmark:
        f"{BENCH}/evaluate_training.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/evaluate_training.py"


REPORT_INPUTS["eval_metrics"] = rules.evaluate_summary.output.metrics
REPORT_INPUTS["eval_table2"] = rules.evaluate_summary.output.table2
REPORT_INPUTS["eval_per_service"] = rules.evaluate_summary.output.per_service
REPORT_INPUTS["eval_configurations"] = rules.evaluate_summary.output.configurations
REPORT_INPUTS["eval_bootstrap_intervals"] = rules.evaluate_bootstrap.output.intervals
REPORT_INPUTS["eval_figure3"] = rules.evaluate_figure3.output.figure
REPORT_INPUTS["eval_training"] = rules.evaluate_training.output.table
REPORT_INPUTS["eval_headline"] = rules.evaluate_verdict.output.headline
REPORT_INPUTS["eval_verdicts"] = rules.evaluate_verdict.output.verdicts
REPORT_INPUTS["eval_paired"] = rules.evaluate_verdict.output.paired
REPORT_INPUTS["eval_taxonomy"] = rules.evaluate_taxonomy.output.table
REPORT_INPUTS["eval_taxonomy_figure"] = rules.evaluate_taxonomy.output.figure
REPORT_INPUTS["eval_breakdowns"] = rules.evaluate_breakdowns.output.table
REPORT_INPUTS["eval_breakdowns_figure"] = rules.evaluate_breakdowns.output.figure
