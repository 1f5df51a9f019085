# Data: the raw extract (synthetic by default, or the user's file), its validation, and the train/validation/test
# split. Outputs: results/data/encounters.parquet, rejected.jsonl, ingest_summary.json, split/<split>.parquet; for
# the synthetic source also raw/synthetic_choices.jsonl (every generator choice), raw/synthetic_shifted.parquet (the
# style-shifted notes) and raw/diagnostics.json.



rule generate_synthetic:
    output:
        extract=f"{RESULTS}/data/raw/synthetic_extract.parquet",
        choices=f"{RESULTS}/data/raw/synthetic_choices.jsonl",
        # each encounter's note written again by the held-out phrasing bank (rules/style_shift.smk)
        shifted=f"{RESULTS}/data/raw/synthetic_shifted.parquet",
        # paper 002's dataset diagnostics: code frequency, labels per document, discards by reason, domain shares,
        # note lengths (claimbench.data.diagnostics)
        diagnostics=f"{RESULTS}/data/raw/diagnostics.json",
    params:
        synthetic=config["data"].get("synthetic", {}),
        seed=config["seed"],
        cpt_catalog=config["codesets"]["cpt_catalog"],
        icd10cm_files=config["codesets"].get("icd10cm_files") or {},
    log:
        f"{LOGS}/generate_synthetic.log",
    benchmark:
        f"{BENCH}/generate_synthetic.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=4000,
    priority: scheduling.START
    script:
        "../scripts/generate_synthetic.py"


rule ingest_extract:
    input:
        extract=raw_extract(),
    output:
        encounters=f"{RESULTS}/data/encounters.parquet",
        rejected=f"{RESULTS}/data/rejected.jsonl",
        summary=f"{RESULTS}/data/ingest_summary.json",
    params:
        # fiscal years with a code set, and the note size limit (claimbench.data.ingest.Contract)
        contract={
            "icd10cm_files": config["codesets"].get("icd10cm_files") or {},
            "max_note_chars": config["data"].get("max_note_chars"),
        },
    log:
        f"{LOGS}/ingest_extract.log",
    benchmark:
        f"{BENCH}/ingest_extract.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=4000,
    priority: scheduling.START
    script:
        "../scripts/ingest_extract.py"


rule split_encounters:
    input:
        encounters=rules.ingest_extract.output.encounters,
    output:
        splits=[LAYOUT.split(name) for name in SPLIT_NAMES],
        summary=f"{RESULTS}/data/split_summary.csv",
    params:
        fractions=config["data"]["split"],
        seed=config["seed"],
    log:
        f"{LOGS}/split_encounters.log",
    benchmark:
        f"{BENCH}/split_encounters.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=4000,
    priority: scheduling.START
    script:
        "../scripts/split_encounters.py"


REPORT_INPUTS["ingest_summary"] = rules.ingest_extract.output.summary
if config["data"]["source"] == "synthetic":
    REPORT_INPUTS["data_diagnostics"] = rules.generate_synthetic.output.diagnostics
REPORT_INPUTS["split_summary"] = rules.split_encounters.output.summary
