# Fine-tuning (paper 000, Methods: Fine-tuning): QLoRA on the training split for every configuration whose method is
# qlora, then the adapter merged into its base model for inference: results/finetune/<configuration>/merged is the
# model the predict stage loads. Settings: config `finetune`.
from claimbench.plan import names_pattern
from claimbench.plan.finetune import (
    finetune_inputs,
    finetune_job,
    finetuned_models,
    settings_for,
)

FINETUNE = config.get("finetune") or {}
FINETUNED = finetuned_models(config)  # configuration -> base model (a key of `models`)
FT_GPUS = int(FINETUNE.get("gpus", 0))


# Only fine-tuned configurations match these rules (a regex that matches nothing when there are none).
FT_NAMES = names_pattern(FINETUNED)


rule finetune:
    """QLoRA SFT of one configuration: adapter + train_stats.json (wall time, trainable parameters, tokens, loss,
    the hyperparameters chosen on the validation split). The test split is never an input."""
    input:
        unpack(lambda wc: finetune_inputs(config, wc.configuration, LAYOUT)),
        model=lambda wc: f"{model_dir(FINETUNED[wc.configuration])}/config.json",
    output:
        adapter=directory(LAYOUT.finetuned("{configuration}", "adapter")),
        stats=LAYOUT.finetuned("{configuration}", "train_stats.json"),
    wildcard_constraints:
        configuration=FT_NAMES,
    params:
        job=lambda wc: finetune_job(config, wc.configuration, model_dir(FINETUNED[wc.configuration])),
    log:
        f"{LOGS}/finetune/{{configuration}}.log",
    benchmark:
        f"{BENCH}/finetune/{{configuration}}.tsv"
    conda:
        # the GPU env where this configuration's settings ask for GPUs, FlashAttention-2 or DeepSpeed (profiles/paper)
        lambda wc: model_env(settings_for(FINETUNE, wc.configuration))
    threads: int(FINETUNE.get("threads", 2))
    resources:
        mem_mb=int(FINETUNE.get("mem_mb", 8000)),
        gpu=FT_GPUS,
    priority: lambda wc: scheduling.finetune_priority(settings_for(FINETUNE, wc.configuration))
    script:
        "../scripts/finetune.py"


rule merge_adapter:
    """The adapter merged into the dense base model (paper: merged for inference), checked on a probe sequence."""
    input:
        adapter=LAYOUT.finetuned("{configuration}", "adapter"),
        model=lambda wc: f"{model_dir(FINETUNED[wc.configuration])}/config.json",
    output:
        merged=directory(LAYOUT.finetuned("{configuration}", "merged")),
        stats=LAYOUT.finetuned("{configuration}", "merge_stats.json"),
    wildcard_constraints:
        configuration=FT_NAMES,
    params:
        model_dir=lambda wc: model_dir(FINETUNED[wc.configuration]),
        merge=lambda wc: settings_for(FINETUNE, wc.configuration).get("merge", {}),
    log:
        f"{LOGS}/merge_adapter/{{configuration}}.log",
    benchmark:
        f"{BENCH}/merge_adapter/{{configuration}}.tsv"
    conda:
        # the environment its adapter was trained in
        lambda wc: model_env(settings_for(FINETUNE, wc.configuration))
    threads: int(FINETUNE.get("threads", 2))
    resources:
        mem_mb=int((FINETUNE.get("merge") or {}).get("mem_mb", FINETUNE.get("mem_mb", 8000))),
        gpu=0,
    priority: scheduling.MERGE
    script:
        "../scripts/merge_adapter.py"


rule finetune_all:
    """Every fine-tuned configuration, trained and merged."""
    input:
        [LAYOUT.finetuned(name, "merge_stats.json") for name in FINETUNED],
