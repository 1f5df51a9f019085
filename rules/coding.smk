# New notes coded by trained configurations (beyond the papers): config code.notes (a JSONL, CSV or Parquet file of
# operative notes without codes) -> results/coded/<configuration>/claims.jsonl (+ .csv, .html, .meta.json,
# .rejected.jsonl) for each configuration of code.configurations. Each note is predicted exactly as rule predict
# predicts a test note. Asked for by rule all only when code.notes is set. Library: claimbench.coding; the same as
# the command `claimbench code`.
from claimbench.plan import coding as coding_plan


rule code_notes:
    input:
        unpack(lambda wc: coding_plan.coding_inputs(config, wc.configuration, model_dir, LAYOUT)),
    output:
        claims=coding_plan.coded(LAYOUT, "{configuration}"),
        csv=coding_plan.coded(LAYOUT, "{configuration}", "csv"),
        html=coding_plan.coded(LAYOUT, "{configuration}", "html"),
        meta=coding_plan.coded(LAYOUT, "{configuration}", "meta.json"),
        rejected=coding_plan.coded(LAYOUT, "{configuration}", "rejected.jsonl"),
    wildcard_constraints:
        configuration=names_pattern(coding_plan.codable(config)),
    log:
        f"{LOGS}/code_notes/{{configuration}}.log",
    benchmark:
        f"{BENCH}/code_notes/{{configuration}}.tsv"
    conda:
        lambda wc: model_env(PREDICT) if coding_plan.generates(config, wc.configuration) else CPU_ENV  # as rule predict
    threads: lambda wc: PREDICT.get("threads", 2) if coding_plan.generates(config, wc.configuration) else 1
    resources:
        mem_mb=lambda wc: PREDICT.get("mem_mb", 6000) if coding_plan.generates(config, wc.configuration) else 3000,
        gpu=lambda wc: PREDICT.get("gpus", 0) if coding_plan.generates(config, wc.configuration) else 0,
    script:
        "../scripts/code_notes.py"


CODED_OUTPUTS = coding_plan.coded_outputs(config, LAYOUT)
