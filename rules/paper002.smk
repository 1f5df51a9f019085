# Paper 002 (synthetic evidence-linked charts, JSON claims with evidence, hierarchical ICD-10-CM evaluation), as its
# own stage of the same workflow. It reuses the ingested extract (the synthetic charts carry evidence links), the
# QLoRA fine-tuning and merge scripts of rules/finetune.smk, the generation code of rules/predict.smk and the
# shipped code sets; what is its own lives in claimbench.paper002. Outputs under results/paper002/. Settings: config
# `paper002` (README: "Paper 002").
from claimbench.plan import names_pattern
from claimbench.plan import paper002 as paper002_plan

P002 = LAYOUT.paper002()
P002_CONFIG = paper002_plan.section(config)
P002_ON = paper002_plan.enabled(config)
P002_MODEL = paper002_plan.model_key(config) if P002_ON else None
P002_NAMES = names_pattern(paper002_plan.CONFIGURATIONS)
P002_FT = paper002_plan.finetune_settings(config) if P002_ON else {}


rule paper002_split:
    """The fixed 95/5 train/evaluation split (a seeded hash of each chart id), a validation slice of the training part,
    and note-pair augmentation of the training part only (paper 002, Methods 2.0.5)."""
    input:
        encounters=rules.ingest_extract.output.encounters,
    output:
        train=f"{P002}/data/train.parquet",
        validation=f"{P002}/data/validation.parquet",
        evaluation=LAYOUT.paper002("data/evaluation.parquet"),
        summary=f"{P002}/data/summary.json",
    params:
        evaluation_share=P002_CONFIG.get("evaluation_share", 0.05),
        n_validation=P002_CONFIG.get("n_validation", 6),
        augmentation_share=P002_CONFIG.get("augmentation_share", 0.3),
        seed=config["seed"],
    log:
        f"{LOGS}/paper002/split.log",
    benchmark:
        f"{BENCH}/paper002/split.tsv"
    conda:
        CPU_ENV
    threads: 1
    priority: scheduling.START
    resources:
        mem_mb=2000,
    script:
        "../scripts/paper002_split.py"


rule paper002_finetune:
    """The stand-in fine-tuned on the JSON task (QLoRA, as paper 000's; the paper fine-tuned Llama-3-70B in full)."""
    input:
        train=rules.paper002_split.output.train,
        validation=rules.paper002_split.output.validation,
        model=lambda wc: f"{model_dir(P002_MODEL)}/config.json",
    output:
        adapter=directory(f"{P002}/finetune/{{configuration}}/adapter"),
        stats=f"{P002}/finetune/{{configuration}}/train_stats.json",
    wildcard_constraints:
        configuration="fine-tuned",
    params:
        job=lambda wc: paper002_plan.finetune_job(config, model_dir(P002_MODEL)),
    log:
        f"{LOGS}/paper002/finetune/{{configuration}}.log",
    benchmark:
        f"{BENCH}/paper002/finetune/{{configuration}}.tsv"
    conda:
        model_env(P002_FT)
    threads: int(P002_FT.get("threads", 2))
    resources:
        mem_mb=int(P002_FT.get("mem_mb", 8000)),
        gpu=int(P002_FT.get("gpus", 0)),
    priority: scheduling.finetune_priority(P002_FT)
    script:
        "../scripts/finetune.py"


rule paper002_merge:
    """The adapter merged into the dense base model, checked on a probe sequence (as rule merge_adapter)."""
    input:
        adapter=f"{P002}/finetune/{{configuration}}/adapter",
        model=lambda wc: f"{model_dir(P002_MODEL)}/config.json",
    output:
        merged=directory(LAYOUT.paper002("finetune/{configuration}/merged")),
        stats=f"{P002}/finetune/{{configuration}}/merge_stats.json",
    wildcard_constraints:
        configuration="fine-tuned",
    params:
        model_dir=lambda wc: model_dir(P002_MODEL),
        merge=P002_FT.get("merge", {}),
    log:
        f"{LOGS}/paper002/merge/{{configuration}}.log",
    benchmark:
        f"{BENCH}/paper002/merge/{{configuration}}.tsv"
    conda:
        model_env(P002_FT)
    threads: int(P002_FT.get("threads", 2))
    resources:
        mem_mb=int((P002_FT.get("merge") or {}).get("mem_mb", P002_FT.get("mem_mb", 8000))),
        gpu=0,
    priority: scheduling.MERGE
    script:
        "../scripts/merge_adapter.py"


rule paper002_predict:
    """JSON claims of the evaluation charts (or a seeded sample: paper002.n_eval_cases), one configuration."""
    input:
        unpack(lambda wc: paper002_plan.predict_inputs(config, wc.configuration, model_dir, LAYOUT)),
    output:
        predictions=f"{P002}/predictions/{{configuration}}.jsonl",
        meta=f"{P002}/predictions/{{configuration}}.meta.json",
    wildcard_constraints:
        configuration=P002_NAMES,
    params:
        settings=lambda wc: paper002_plan.resolve(config, wc.configuration),
        model_dir=lambda wc: paper002_plan.predict_model_dir(config, wc.configuration, model_dir, LAYOUT),
        n_eval_cases=P002_CONFIG.get("n_eval_cases"),
        seed=config["seed"],
    log:
        f"{LOGS}/paper002/predict/{{configuration}}.log",
    benchmark:
        f"{BENCH}/paper002/predict/{{configuration}}.tsv"
    conda:
        model_env(PREDICT)
    threads: PREDICT.get("threads", 2)
    resources:
        mem_mb=PREDICT.get("mem_mb", 6000),
        gpu=PREDICT.get("gpus", 0),
    priority: scheduling.OTHER_GENERATION
    script:
        "../scripts/paper002_predict.py"


rule paper002_ground:
    """Beyond the paper: the fine-tuned stand-in's words for each diagnosis (its cited evidence) and procedure (its
    rationale) resolved to the nearest valid code among the training part's evidence and the code descriptions
    (claimbench.paper002.grounded); the model's invented codes are dropped. One neighbour, no threshold: nothing is
    chosen on data."""
    input:
        predictions=f"{P002}/predictions/fine-tuned.jsonl",
        source_meta=f"{P002}/predictions/fine-tuned.meta.json",
        evaluation=rules.paper002_split.output.evaluation,
        train=rules.paper002_split.output.train,
        index=rules.codeset_index.output.index,
    output:
        predictions=f"{P002}/predictions/{paper002_plan.GROUNDED}.jsonl",
        meta=f"{P002}/predictions/{paper002_plan.GROUNDED}.meta.json",
    params:
        settings=grounding_settings(config),
        codesets=config.get("codesets") or {},
    log:
        f"{LOGS}/paper002/ground.log",
    benchmark:
        f"{BENCH}/paper002/ground.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=3000,
    script:
        "../scripts/paper002_ground.py"


rule paper002_evaluate:
    """Levels 0-4, evidence Jaccard, CPT, domains, categories, chapters and training frequency (claimbench.paper002)."""
    input:
        evaluation=rules.paper002_split.output.evaluation,
        train=rules.paper002_split.output.train,
        predictions=expand(f"{P002}/predictions/{{configuration}}.jsonl", configuration=paper002_plan.EVALUATED),
    output:
        cases=f"{P002}/evaluation/cases.parquet",
        levels=f"{P002}/evaluation/levels.csv",
        domains=f"{P002}/evaluation/domains.csv",
        categories=f"{P002}/evaluation/categories.csv",
        chapters=f"{P002}/evaluation/chapters.csv",
        frequency=f"{P002}/evaluation/frequency.csv",
        summary=f"{P002}/evaluation/summary.json",
    params:
        predictions={name: f"{P002}/predictions/{name}.jsonl" for name in paper002_plan.EVALUATED},
        min_category_cases=P002_CONFIG.get("min_category_cases", 3),
        evidence_jaccard=P002_CONFIG.get("evidence_jaccard_threshold"),
        codesets=config.get("codesets", {}),
    log:
        f"{LOGS}/paper002/evaluate.log",
    benchmark:
        f"{BENCH}/paper002/evaluate.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/paper002_evaluate.py"


rule paper002_figures:
    """Figures 2, 3a and 5 of paper 002 from this run's tables, the paper's cited values beside them."""
    input:
        levels=rules.paper002_evaluate.output.levels,
        domains=rules.paper002_evaluate.output.domains,
        frequency=rules.paper002_evaluate.output.frequency,
        summary=rules.paper002_evaluate.output.summary,
    output:
        levels=f"{P002}/figures/levels.png",
        domains=f"{P002}/figures/domains.png",
        frequency=f"{P002}/figures/frequency.png",
    log:
        f"{LOGS}/paper002/figures.log",
    benchmark:
        f"{BENCH}/paper002/figures.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/paper002_figures.py"


rule paper002_retention:
    """Medical-comprehension retention (paper 002, Table 2): multiple-choice accuracy of the base and the fine-tuned
    stand-in on the QA file config names (paper002.qa_file); without one, a record that it was not run."""
    input:
        base=lambda wc: f"{model_dir(P002_MODEL)}/config.json",
        merged=LAYOUT.paper002("finetune/fine-tuned/merged"),
        qa=lambda wc: [P002_CONFIG["qa_file"]] if P002_CONFIG.get("qa_file") else [],
    output:
        table=f"{P002}/evaluation/retention.csv",
        status=f"{P002}/evaluation/retention.json",
    params:
        base_dir=lambda wc: model_dir(P002_MODEL),
        qa_file=P002_CONFIG.get("qa_file"),
        load=PREDICT.get("load", {}),
    log:
        f"{LOGS}/paper002/retention.log",
    benchmark:
        f"{BENCH}/paper002/retention.tsv"
    conda:
        model_env(PREDICT)
    threads: PREDICT.get("threads", 2)
    resources:
        mem_mb=PREDICT.get("mem_mb", 6000),
    script:
        "../scripts/paper002_retention.py"


if P002_ON:
    REPORT_INPUTS["paper002_split"] = rules.paper002_split.output.summary
    REPORT_INPUTS["paper002_train_stats"] = f"{P002}/finetune/fine-tuned/train_stats.json"
    REPORT_INPUTS["paper002_meta_zero_shot"] = f"{P002}/predictions/zero-shot.meta.json"
    REPORT_INPUTS["paper002_meta_fine_tuned"] = f"{P002}/predictions/fine-tuned.meta.json"
    REPORT_INPUTS["paper002_meta_grounded"] = rules.paper002_ground.output.meta
    for _name in ("levels", "domains", "categories", "chapters", "frequency", "summary"):
        REPORT_INPUTS[f"paper002_{_name}"] = getattr(rules.paper002_evaluate.output, _name)
    REPORT_INPUTS["paper002_levels_figure"] = rules.paper002_figures.output.levels
    REPORT_INPUTS["paper002_domains_figure"] = rules.paper002_figures.output.domains
    REPORT_INPUTS["paper002_frequency_figure"] = rules.paper002_figures.output.frequency
    REPORT_INPUTS["paper002_retention"] = rules.paper002_retention.output.table
    REPORT_INPUTS["paper002_retention_status"] = rules.paper002_retention.output.status
