# Extra case sets (beyond the papers), each predicted and scored by reusing the normal rules and scripts with its own
# files (claimbench.plan.style_shift):
# - the style-shift check: the same test encounters written by the phrasing bank that training never sees
#   (claimbench.data.phrasing, held_out), predicted by every configuration of predict.shifted_configurations on a
#   seeded sample of the predicted cases (predict.n_shifted_cases; 0 switches it off), scored, and set beside the
#   normal notes' F1 (claimbench.evaluation.style_shift): results/data/split/test_shifted.parquet ->
#   retrieval/{neighbours,code_hints}_shifted.parquet -> predictions/shifted/<c>.jsonl ->
#   evaluation/shifted_cases/<c>.parquet -> evaluation/style_shift.csv + .png;
# - the whole test split, normal and style-shifted notes (case sets whole and whole_shifted), for the configurations
#   of predict.whole_split_configurations (no language model: seconds each), so their comparisons are not held to the
#   language models' sample: predictions/{whole,whole_shifted}/<c>.jsonl -> evaluation/whole_split.csv.
# The synthetic source only (the generator writes both notes). Include after rules/predict.smk and
# rules/evaluate.smk (it reuses their rules).
from claimbench.plan.style_shift import (
    OWN_NOTES,
    WHOLE_SPLIT,
    case_set_file,
    case_set_inputs,
    case_set_notes,
    case_set_predictions,
    case_set_scores,
    shifted_configurations,
    whole_split_configurations,
)

N_SHIFTED_CASES = config.get("predict", {}).get("n_shifted_cases", 0)
SYNTHETIC = config["data"]["source"] == "synthetic"
STYLE_SHIFT = SYNTHETIC and N_SHIFTED_CASES != 0
SHIFTED_CONFIGURATIONS = shifted_configurations(config, EVAL_CONFIGURATIONS)
WHOLE_CONFIGURATIONS = whole_split_configurations(config, EVAL_CONFIGURATIONS) if SYNTHETIC else []
CASE_SETS = (["shifted"] if STYLE_SHIFT else []) + (list(WHOLE_SPLIT) if WHOLE_CONFIGURATIONS else [])


if CASE_SETS:

    rule shift_test_notes:
        """The held-out bank's notes of the test encounters: the style-shift check's seeded sample of the predicted
        cases (shifted), or every test note (whole_shifted)."""
        input:
            test=LAYOUT.split("test"),
            shifted=rules.generate_synthetic.output.shifted,
        output:
            test=case_set_file("notes", "{cases}", LAYOUT),
        wildcard_constraints:
            cases="|".join(OWN_NOTES),
        params:
            n_test_cases=lambda wc: None if wc.cases == "whole_shifted" else PREDICT.get("n_test_cases"),
            n_shifted_cases=lambda wc: None if wc.cases == "whole_shifted" else N_SHIFTED_CASES,
            seed=config["seed"],
        log:
            f"{LOGS}/shift_test_notes/{{cases}}.log",
        benchmark:
            f"{BENCH}/shift_test_notes/{{cases}}.tsv"
        conda:
            CPU_ENV
        threads: 1
        resources:
            mem_mb=2000,
        priority: scheduling.TUNING
        script:
            "../scripts/shift_test_notes.py"

    use rule retrieval_neighbours as retrieval_neighbours_case_set with:
        input:
            test=lambda wc: case_set_notes(wc.cases, LAYOUT),
            index=rules.faiss_index.output.index,
            embeddings=rules.embed_train_notes.output.embeddings,
        output:
            neighbours=case_set_file("neighbours", "{cases}", LAYOUT),
        wildcard_constraints:
            cases="|".join(CASE_SETS),
        params:
            embedder=config["retrieval"].get("embedder"),
            batch_size=config["retrieval"].get("batch_size", 32),
            k=config["retrieval"].get("k", 2),
            n_test_cases=None,  # every note of the case set's file
            seed=config["seed"],
        log:
            f"{LOGS}/retrieval/retrieval_neighbours_{{cases}}.log",
        benchmark:
            f"{BENCH}/retrieval/retrieval_neighbours_{{cases}}.tsv"

    use rule code_hints as code_hints_case_set with:
        input:
            train=LAYOUT.split("train"),
            queries=lambda wc: [case_set_notes(wc.cases, LAYOUT)],
        output:
            hints=case_set_file("hints", "{cases}", LAYOUT),
        wildcard_constraints:
            cases="|".join(OWN_NOTES),  # the whole split's normal notes are rule code_hints' own queries
        params:
            **CODE_HINTS_PARAMS,
            lexical_k=[lexical_neighbour_count(config["retrieval"], "hint_neighbours")],
        log:
            f"{LOGS}/retrieval/code_hints_{{cases}}.log",
        benchmark:
            f"{BENCH}/retrieval/code_hints_{{cases}}.tsv"

    use rule predict as predict_case_set with:
        input:
            unpack(lambda wc: case_set_inputs(predict_inputs(config, wc.configuration, model_dir, LAYOUT), wc.cases,
                                              LAYOUT)),
        output:
            predictions=case_set_predictions("{cases}", "{configuration}", layout=LAYOUT),
            meta=case_set_predictions("{cases}", "{configuration}", "meta.json", LAYOUT),
        wildcard_constraints:
            cases="|".join(CASE_SETS),
            configuration=configuration_pattern(config),
        params:
            settings=lambda wc: resolve(config, wc.configuration),
            model_dir=lambda wc: predict_model_dir(config, wc.configuration, model_dir, LAYOUT),
            n_test_cases=None,  # every case of the case set's file
            seed=config["seed"],
            data_source=config["data"]["source"],
            side_hints=config["retrieval"]["side_hints"],
            codesets=config.get("codesets", {}),
        log:
            f"{LOGS}/predict_{{cases}}/{{configuration}}.log",
        benchmark:
            f"{BENCH}/predict_{{cases}}/{{configuration}}.tsv"

    use rule evaluate_cases as evaluate_case_set with:
        input:
            predictions=case_set_predictions("{cases}", "{configuration}", layout=LAYOUT),
            meta=case_set_predictions("{cases}", "{configuration}", "meta.json", LAYOUT),
            test=lambda wc: case_set_notes(wc.cases, LAYOUT),
        output:
            cases=case_set_scores("{cases}", "{configuration}", LAYOUT),
        wildcard_constraints:
            cases="|".join(CASE_SETS),
        params:
            codesets=config["codesets"],
            evaluation=config["evaluation"],
            structure=False,  # their tables read the codes only: no ROUGE or METEOR of the claim text
        log:
            f"{LOGS}/evaluate_cases_{{cases}}/{{configuration}}.log",
        benchmark:
            f"{BENCH}/evaluate_cases_{{cases}}/{{configuration}}.tsv"


if STYLE_SHIFT:

    rule evaluate_style_shift:
        input:
            normal=list(EVAL_CASES.values()),
            shifted=[case_set_scores("shifted", name, LAYOUT) for name in SHIFTED_CONFIGURATIONS],
            metas=[case_set_predictions("shifted", name, "meta.json", LAYOUT) for name in SHIFTED_CONFIGURATIONS],
        output:
            table=report(f"{EVAL}/style_shift.csv", caption="../report/captions/style_shift.rst", category=CLAIMS),
            figure=report(f"{EVAL}/style_shift.png", caption="../report/captions/style_shift.rst", category=CLAIMS),
        params:
            normal=EVAL_CASES,
            shifted={name: case_set_scores("shifted", name, LAYOUT) for name in SHIFTED_CONFIGURATIONS},
            metas={name: case_set_predictions("shifted", name, "meta.json", LAYOUT) for name in SHIFTED_CONFIGURATIONS},
            n_resamples=BOOTSTRAP_RESAMPLES,
            seed=BOOTSTRAP_SEED,
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


if WHOLE_CONFIGURATIONS:

    rule evaluate_whole_split:
        """The configurations of predict.whole_split_configurations on every test note: F1 with its bootstrap
        interval, the paired difference from the first of them, and the drop on the style-shifted notes
        (claimbench.evaluation.whole_split)."""
        input:
            normal=[case_set_scores("whole", name, LAYOUT) for name in WHOLE_CONFIGURATIONS],
            shifted=[case_set_scores("whole_shifted", name, LAYOUT) for name in WHOLE_CONFIGURATIONS],
        output:
            table=report(f"{EVAL}/whole_split.csv", caption="../report/captions/whole_split.rst", category=CLAIMS),
        params:
            normal={name: case_set_scores("whole", name, LAYOUT) for name in WHOLE_CONFIGURATIONS},
            shifted={name: case_set_scores("whole_shifted", name, LAYOUT) for name in WHOLE_CONFIGURATIONS},
            n_resamples=BOOTSTRAP_RESAMPLES,
            seed=BOOTSTRAP_SEED,
        log:
            f"{LOGS}/evaluate_whole_split.log",
        benchmark:
            f"{BENCH}/evaluate_whole_split.tsv"
        conda:
            CPU_ENV
        threads: 1
        resources:
            mem_mb=2000,
        script:
            "../scripts/evaluate_whole_split.py"

    REPORT_INPUTS["eval_whole_split"] = rules.evaluate_whole_split.output.table
