# Description-grounded coding (beyond the paper; paper 002's answer to invented codes): the code sets' descriptions
# indexed once, and the no-LM reference's settings chosen on the validation split. The configurations that use them
# (method grounded; prompt describe) predict in rules/predict.smk. Library: claimbench.grounding; its planning:
# claimbench.plan.grounding.
from claimbench.plan.grounding import (describe_configurations, grounded_configurations, grounding_settings,
                                      reference_choice_inputs)


rule codeset_index:
    """ICD-10-CM descriptions of every fiscal year with a code set and the CPT catalog, one row per distinct (code,
    description), per-year validity masks; the CPT catalog embedded (ICD-10-CM too with grounding.shortlist: null).
    Reads no split: it covers every year an encounter can have."""
    output:
        index=LAYOUT.grounding("codeset_index"),
    params:
        settings=grounding_settings(config),
        codesets=config.get("codesets") or {},
    log:
        f"{LOGS}/grounding/codeset_index.log",
    benchmark:
        f"{BENCH}/grounding/codeset_index.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=3000,
    priority: scheduling.TUNING
    script:
        "../scripts/grounding_codeset_index.py"


rule evidence_anchors:
    """The training split's anchors of grounded+evidence (claimbench.grounding.evidence): its notes' clauses, each
    labelled with the codes coders cited it for (or none), and the code descriptions, embedded once for the rules
    that match notes to them (the settings choice, the test and shifted predictions, coding new notes)."""
    input:
        train=LAYOUT.split("train"),
        index=rules.codeset_index.output.index,
    output:
        anchors=LAYOUT.grounding("evidence_anchors"),
    params:
        settings=grounding_settings(config),
    log:
        f"{LOGS}/grounding/evidence_anchors.log",
    benchmark:
        f"{BENCH}/grounding/evidence_anchors.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=3000,
    priority: scheduling.TUNING
    script:
        "../scripts/grounding_evidence_anchors.py"


rule select_grounding_reference:
    """The no-LM reference's threshold and code count per code system (and, with the training evidence as anchors,
    the neighbours per clause), chosen on the validation split."""
    input:
        unpack(lambda wc: reference_choice_inputs(config, wc.configuration, LAYOUT)),
    output:
        choice=LAYOUT.grounding("reference_choice", "{configuration}"),
    wildcard_constraints:
        configuration=names_pattern(grounded_configurations(config)),
    params:
        settings=grounding_settings(config),
        codesets=config.get("codesets") or {},
    log:
        f"{LOGS}/grounding/select_grounding_reference/{{configuration}}.log",
    benchmark:
        f"{BENCH}/grounding/select_grounding_reference/{{configuration}}.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=3000,
    priority: scheduling.TUNING
    script:
        "../scripts/grounding_select_reference.py"


rule copying_table:
    """Copying measured (beyond the paper): per configuration, answers whose CPT codes are exactly its first example
    claim's, how many of those were right, and answers whose own procedure descriptions name the right operation."""
    input:
        predictions=expand(LAYOUT.predictions("{configuration}"), configuration=CONFIGURATIONS),
        test=LAYOUT.split("test"),
        train=LAYOUT.split("train"),
        neighbours=LAYOUT.neighbours("test"),
        hints=LAYOUT.code_hints("test"),
        index=rules.codeset_index.output.index,
    output:
        table=f"{RESULTS}/evaluation/copying.csv",
    params:
        names=CONFIGURATIONS,
        config={key: config.get(key) for key in ("configurations", "grounding", "retrieval")},
    log:
        f"{LOGS}/grounding/copying_table.log",
    benchmark:
        f"{BENCH}/grounding/copying_table.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/grounding_copying.py"


REPORT_INPUTS["copying"] = rules.copying_table.output.table


rule select_grounding_choice:
    """A describe configuration's final code among a description's top candidates (the nearest, the note's or the
    model's choice), chosen on a seeded sample of the validation split (predict.n_validation_cases, as
    select_decoding)."""
    input:
        unpack(lambda wc: decoding_inputs(config, wc.configuration, model_dir, LAYOUT)),
    output:
        choice=LAYOUT.grounding("choice", "{configuration}"),
    wildcard_constraints:
        configuration=names_pattern(describe_configurations(config)),
    params:
        settings=lambda wc: resolve(config, wc.configuration),
        model_dir=lambda wc: predict_model_dir(config, wc.configuration, model_dir, LAYOUT),
        n_cases=PREDICT.get("n_validation_cases", 8),
        seed=config["seed"],
    log:
        f"{LOGS}/grounding/select_grounding_choice/{{configuration}}.log",
    benchmark:
        f"{BENCH}/grounding/select_grounding_choice/{{configuration}}.tsv"
    conda:
        model_env(PREDICT)  # it generates as predict does
    threads: PREDICT.get("threads", 2)
    resources:
        mem_mb=PREDICT.get("mem_mb", 6000),
        gpu=PREDICT.get("gpus", 0),
    priority: scheduling.TUNING
    script:
        "../scripts/grounding_select_choice.py"
