# Cohort (paper 000, Results: Table 1, Figures 1 and 2) over all validated encounters.
COHORT = "Cohort (paper 000)"  # category in `snakemake --report`


rule cohort_table1:
    input:
        encounters=rules.ingest_extract.output.encounters,
    output:
        table=report(f"{RESULTS}/cohort/table1.csv", caption="../report/captions/table1.rst", category=COHORT),
    log:
        f"{LOGS}/cohort_table1.log",
    benchmark:
        f"{BENCH}/cohort_table1.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/cohort_table1.py"


rule cohort_figures:
    input:
        encounters=rules.ingest_extract.output.encounters,
        tokenizer=lambda wc: f"{model_dir(config['cohort']['tokenizer_model'])}/tokenizer.json",
    output:
        figure1=report(
            f"{RESULTS}/cohort/figure1_token_lengths.png", caption="../report/captions/figure1.rst", category=COHORT
        ),
        lengths=f"{RESULTS}/cohort/token_length_summary.json",
        figure2=report(
            f"{RESULTS}/cohort/figure2_code_counts.png", caption="../report/captions/figure2.rst", category=COHORT
        ),
        counts=f"{RESULTS}/cohort/code_counts.csv",
    params:
        tokenizer_model=config["cohort"]["tokenizer_model"],
    log:
        f"{LOGS}/cohort_figures.log",
    benchmark:
        f"{BENCH}/cohort_figures.tsv"
    conda:
        CPU_ENV
    threads: 2
    resources:
        mem_mb=6000,
    script:
        "../scripts/cohort_figures.py"


REPORT_INPUTS["table1"] = rules.cohort_table1.output.table
REPORT_INPUTS["figure1"] = rules.cohort_figures.output.figure1
REPORT_INPUTS["token_lengths"] = rules.cohort_figures.output.lengths
REPORT_INPUTS["figure2"] = rules.cohort_figures.output.figure2
REPORT_INPUTS["code_counts"] = rules.cohort_figures.output.counts
