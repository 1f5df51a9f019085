# The style-shift check (beyond the papers): the same test encounters written by the phrasing bank that training
# never sees (claimbench.data.phrasing, held_out), predicted by every configuration, scored, and set beside the
# normal notes' F1 (claimbench.evaluation.style_shift). The synthetic source only (the generator writes both notes);
# predict.n_shifted_cases: 0 switches it off. Each job reuses its normal counterpart's rule and script with the shifted
# files: results/data/split/test_shifted.parquet -> retrieval/{neighbours,code_hints}_shifted.parquet ->
# predictions/shifted/<c>.jsonl -> evaluation/shifted_cases/<c>.parquet -> evaluation/style_shift.csv + .png.
# Include after rules/predict.smk and rules/evaluate.smk (it reuses their rules).
from claimbench.plan.style_shift import shifted_configurations, shifted_files, shifted_inputs

N_SHIFTED_CASES = config.get("predict", {}).get("n_shifted_cases", 0)
STYLE_SHIFT = config["data"]["source"] == "synthetic" and N_SHIFTED_CASES != 0
SHIFTED_FILES = shifted_files(LAYOUT)  # a normal prediction input -> its style-shifted counterpart
SHIFTED_TEST = SHIFTED_FILES[LAYOUT.split("test")]
SHIFTED_CONFIGURATIONS = shifted_configurations(config, EVAL_CONFIGURATIONS)


if STYLE_SHIFT:

    rule shift_test_notes:
        input:
            test=LAYOUT.split("test"),
            shifted=rules.generate_synthetic.output.shifted,
        output:
            test=SHIFTED_TEST,
        params:
            n_test_cases=PREDICT.get("n_test_cases"),
            n_shifted_cases=N_SHIFTED_CASES,
            seed=config["seed"],
        log:
            f"{LOGS}/shift_test_notes.log",
        benchmark:
            f"{BENCH}/shift_test_notes.tsv"
        conda:
            CPU_ENV
        threads: 1
        resources:
            mem_mb=2000,
        priority: scheduling.TUNING
        script:
            "../scripts/shift_test_notes.py"

    use rule retrieval_neighbours as retrieval_neighbours_shifted with:
        input:
            test=SHIFTED_TEST,
            index=rules.faiss_index.output.index,
            embeddings=rules.embed_train_notes.output.embeddings,
        output:
            neighbours=SHIFTED_FILES[LAYOUT.neighbours("test")],
        params:
            embedder=config["retrieval"].get("embedder"),
            batch_size=config["retrieval"].get("batch_size", 32),
            k=config["retrieval"].get("k", 2),
            n_test_cases=None,  # the shifted file holds only the sampled cases
            seed=config["seed"],
        log:
            f"{LOGS}/retrieval/retrieval_neighbours_shifted.log",
        benchmark:
            f"{BENCH}/retrieval/retrieval_neighbours_shifted.tsv"

    use rule code_hints as code_hints_shifted with:
        input:
            train=LAYOUT.split("train"),
            queries=[SHIFTED_TEST],
        output:
            hints=SHIFTED_FILES[LAYOUT.code_hints("test")],
        params:
            **CODE_HINTS_PARAMS,
            lexical_k=[lexical_neighbour_count(config["retrieval"], "hint_neighbours")],
        log:
            f"{LOGS}/retrieval/code_hints_shifted.log",
        benchmark:
            f"{BENCH}/retrieval/code_hints_shifted.tsv"

    use rule predict as predict_shifted with:
        input:
            unpack(lambda wc: shifted_inputs(predict_inputs(config, wc.configuration, model_dir, LAYOUT), LAYOUT)),
        output:
            predictions=f"{PREDICTIONS}/shifted/{{configuration}}.jsonl",
            meta=f"{PREDICTIONS}/shifted/{{configuration}}.meta.json",
        params:
            settings=lambda wc: resolve(config, wc.configuration),
            model_dir=lambda wc: predict_model_dir(config, wc.configuration, model_dir, LAYOUT),
            n_test_cases=None,  # every case of the shifted file
            seed=config["seed"],
            data_source=config["data"]["source"],
            side_hints=config["retrieval"]["side_hints"],
            codesets=config.get("codesets", {}),
        log:
            f"{LOGS}/predict_shifted/{{configuration}}.log",
        benchmark:
            f"{BENCH}/predict_shifted/{{configuration}}.tsv"

    use rule evaluate_cases as evaluate_cases_shifted with:
        input:
            predictions=f"{PREDICTIONS}/shifted/{{configuration}}.jsonl",
            meta=f"{PREDICTIONS}/shifted/{{configuration}}.meta.json",
            test=SHIFTED_TEST,
        output:
            cases=f"{EVAL}/shifted_cases/{{configuration}}.parquet",
        params:
            codesets=config["codesets"],
            evaluation=config["evaluation"],
        log:
            f"{LOGS}/evaluate_cases_shifted/{{configuration}}.log",
        benchmark:
            f"{BENCH}/evaluate_cases_shifted/{{configuration}}.tsv"

    rule evaluate_style_shift:
        input:
            normal=list(EVAL_CASES.values()),
            shifted=[f"{EVAL}/shifted_cases/{name}.parquet" for name in SHIFTED_CONFIGURATIONS],
            metas=[f"{PREDICTIONS}/shifted/{name}.meta.json" for name in SHIFTED_CONFIGURATIONS],
        output:
            table=report(f"{EVAL}/style_shift.csv", caption="../report/captions/style_shift.rst", category=CLAIMS),
            figure=report(f"{EVAL}/style_shift.png", caption="../report/captions/style_shift.rst", category=CLAIMS),
        params:
            normal=EVAL_CASES,
            shifted={name: f"{EVAL}/shifted_cases/{name}.parquet" for name in SHIFTED_CONFIGURATIONS},
            metas={name: f"{PREDICTIONS}/shifted/{name}.meta.json" for name in SHIFTED_CONFIGURATIONS},
        log:
            f"{LOGS}/evaluate_style_shift.log",
        benchmark:
            f"{BENCH}/evaluate_style_shift.tsv"
        conda:
            CPU_ENV
        threads: 1
        resources:
            mem_mb=2000,
        script:
            "../scripts/evaluate_style_shift.py"

    REPORT_INPUTS["eval_style_shift"] = rules.evaluate_style_shift.output.table
    REPORT_INPUTS["eval_style_shift_figure"] = rules.evaluate_style_shift.output.figure
