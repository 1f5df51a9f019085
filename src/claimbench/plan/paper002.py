"""What paper 002's stage runs, read from config ``paper002`` (imported by rules/paper002.smk at parse time: no
torch / transformers here).

Two configurations, as in the paper: ``zero-shot`` (the untuned stand-in, the paper's baseline) and ``fine-tuned``
(the stand-in fine-tuned on the JSON task); and, labelled beyond the paper, ``fine-tuned+grounded``. Their settings take the shape ``claimbench.plan.predict.resolve``
gives paper 000's configurations, so prediction and fine-tuning run through the same code.
"""

from __future__ import annotations

from collections.abc import Mapping

from claimbench.plan.finetune import deep_merge, settings_for
from claimbench.plan.layout import LAYOUT, Layout
from claimbench.plan.predict import launch_settings

CONFIGURATIONS = ("zero-shot", "fine-tuned")
# Beyond the paper: the fine-tuned stand-in's own words resolved to valid codes (claimbench.paper002.grounded; rule
# paper002_ground). It generates nothing: it reads fine-tuned's predictions.
GROUNDED = "fine-tuned+grounded"
EVALUATED = (*CONFIGURATIONS, GROUNDED)  # what rule paper002_evaluate scores
PROMPT = "paper002"  # the prompt kind of paper 002's task, recorded in run keys, statistics and meta files
TASK = "claimbench.paper002.task:JSON_TASK"  # the task fine-tuning and prediction run (claimbench.task.task_of)


def section(config: Mapping) -> dict:
    return dict(config.get("paper002") or {})


def enabled(config: Mapping) -> bool:
    return bool(section(config).get("enabled", True))


def model_key(config: Mapping) -> str:
    model = section(config).get("model", "smollm2")
    if model not in (config.get("models") or {}):
        raise ValueError(f"paper002.model is {model!r}, which is not a key of `models`")
    return model


def finetune_settings(config: Mapping) -> dict:
    """The ``finetune`` section with ``paper002.finetune`` merged over it: the same QLoRA recipe, paper 002's sizes."""
    return deep_merge(settings_for(config.get("finetune") or {}, "paper002"), section(config).get("finetune") or {})


def finetune_job(config: Mapping, model_dir: str) -> dict:
    """What scripts/finetune.py hands to ``claimbench.models.finetune.run_finetune`` (as rules/finetune.smk's job)."""
    model = model_key(config)
    return {
        "configuration": "paper002/fine-tuned",
        "prompt": PROMPT,
        "task": TASK,
        "k": 0,
        "model": model,
        "model_dir": str(model_dir),
        "stands_in_for": section(config).get("stands_in_for"),
        "settings": finetune_settings(config),
        "seed": int(config["seed"]),
    }


def resolve(config: Mapping, name: str) -> dict:
    """A configuration's prediction settings: method, model, prompt, generation (predict.generation with
    paper002.generation over it), load and launch as for paper 000."""
    if name not in CONFIGURATIONS:
        raise ValueError(f"paper 002 has configurations {CONFIGURATIONS}, not {name!r}")
    predict = config.get("predict") or {}
    model = model_key(config)
    stands_in = section(config).get("stands_in_for")
    return {
        "method": "qlora" if name == "fine-tuned" else "base",
        "model": model,
        "prompt": PROMPT,
        "task": TASK,
        "stands_in_for": stands_in,
        "prompt_family": (config["models"][model] or {}).get("prompt_family"),
        "generation": {**(predict.get("generation") or {}), **(section(config).get("generation") or {})},
        "load": dict(predict.get("load") or {}),
        "launch": launch_settings(predict),
        "model_label": f"{model} + QLoRA (paper 002 JSON task, merged)" if name == "fine-tuned" else model,
    }


def predict_model_dir(config: Mapping, name: str, model_dir, layout: Layout = LAYOUT) -> str:
    """The model a configuration generates with: the base model's folder (``model_dir(key)``), or the merged
    fine-tuned one (the directory output of rule paper002_merge)."""
    if name == "fine-tuned":
        return layout.paper002("finetune/fine-tuned/merged")
    return model_dir(model_key(config))


def predict_inputs(config: Mapping, name: str, model_dir, layout: Layout = LAYOUT) -> dict:
    """Input files of rule paper002_predict: the evaluation charts and the model (a merged model is a directory
    output: the rule depends on the folder itself; a base model on its config.json)."""
    folder = predict_model_dir(config, name, model_dir, layout)
    return {"evaluation": layout.paper002("data/evaluation.parquet"),
            "model": folder if name == "fine-tuned" else f"{folder}/config.json"}
