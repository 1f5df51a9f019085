"""Per-configuration settings, resolved from config (imported by rules/predict.smk at parse time: no heavy imports)."""

from __future__ import annotations

import copy
from collections.abc import Mapping

from claimbench.plan import names_pattern
from claimbench.plan.grounding import (DESCRIBE_KIND, DESCRIBE_TASK, grounding_settings, is_grounded,
                                      uses_training_evidence)
from claimbench.plan.layout import LAYOUT, Layout
from claimbench.plan.methods import FINETUNED_METHOD, GROUNDED_METHOD, LLM_METHODS, RETRIEVAL_METHODS
from claimbench.prompts import EXAMPLE_KINDS, HINTS_KIND


MULTI_GPU_ACCELERATE = "config/accelerate/multi_gpu.yaml"


def launch_settings(predict: Mapping) -> dict:
    """How LLM predictions run: in-process (CPU, one GPU), or data-parallel over ``predict.gpus`` GPUs with
    ``accelerate launch`` (one model copy per GPU, the cases split between them, as in the paper)."""
    launch = dict(predict.get("launch") or {})
    gpus = int(predict.get("gpus", 0) or 0)
    if not launch.get("accelerate_config") and gpus > 1:
        launch = {"accelerate_config": MULTI_GPU_ACCELERATE, "num_processes": gpus}
    return launch


def resolve(config: Mapping, name: str) -> dict:
    """configurations.<name> with predict.generation / predict.load filled in, and a model label for the files.

    ``stands_in_for`` comes from the configuration, else from its model's entry in ``models``.
    """
    conf = copy.deepcopy(dict(config["configurations"][name]))
    predict = config.get("predict", {})
    conf["generation"] = {**predict.get("generation", {}), **conf.get("generation", {})}
    conf["load"] = dict(predict.get("load", {}))
    if conf["method"] in LLM_METHODS:
        conf["launch"] = launch_settings(predict)
    model = conf["model"] = model_of(config, name)
    entry = config.get("models", {}).get(model, {}) if model else {}
    conf.setdefault("stands_in_for", entry.get("stands_in_for"))
    conf.setdefault("prompt_family", entry.get("prompt_family"))
    if conf["method"] == FINETUNED_METHOD:
        conf["model_label"] = f"{model} + QLoRA ({trained_configuration(config, name)}, merged)"
    elif conf["method"] == "knn":
        conf["model_label"] = "all-MiniLM-L6-v2 + FAISS IndexFlatL2 (nearest training claim)"
        if conf.get("icd10") == "lexicon":
            conf["model_label"] += "; ICD-10-CM from the training split's code lexicon"
    elif conf["method"] == GROUNDED_METHOD:
        conf["model_label"] = "the note's lines matched to the code sets' descriptions (all-MiniLM-L6-v2; no LLM)"
        if uses_training_evidence(conf):
            conf["model_label"] = ("the note's clauses matched to the code sets' descriptions and the training "
                                   "split's evidence clauses (all-MiniLM-L6-v2; no LLM)")
    elif conf["method"] == "api":
        conf["model_label"] = conf.get("model_name", "gpt-4o")
    else:
        conf["model_label"] = model
    if conf["method"] == "rag" or conf.get("prompt") in EXAMPLE_KINDS:
        conf.setdefault("k", config.get("retrieval", {}).get("k", 2))
    if is_grounded(conf):  # beyond the paper: descriptions resolved to the codes of config `codesets`
        conf["codesets"] = dict(config.get("codesets") or {})
        conf["grounding"] = grounding_settings(config)
        if conf.get("prompt") == DESCRIBE_KIND:  # the description task (claimbench.grounding.describe)
            conf["task"] = DESCRIBE_TASK
            conf["model_label"] += " + descriptions resolved to codes"
    if conf.get("constrained"):  # beyond the paper: the grammar admits the codes of config `codesets`
        conf["codesets"] = dict(config.get("codesets") or {})
        conf["grammar"] = dict(predict.get("grammar") or {})
        conf["model_label"] += f" + {conf['constrained'].replace('_', ' ')}"
    return conf


def model_of(config: Mapping, name: str) -> str | None:
    """configurations.<name>.model; a configuration with ``finetuned_from`` and no model of its own has its source's
    (it predicts with the source's merged model, so naming the model again in a profile is not needed)."""
    configurations = config.get("configurations") or {}
    conf = configurations.get(name) or {}
    if conf.get("model") is None and conf.get("finetuned_from"):
        return (configurations.get(conf["finetuned_from"]) or {}).get("model")
    return conf.get("model")


def trained_configuration(config: Mapping, name: str) -> str:
    """The fine-tuned configuration whose merged model ``name`` predicts with: ``finetuned_from`` (a configuration
    that reuses another's training, e.g. ft-mini+grammar) or ``name`` itself."""
    conf = config["configurations"][name]
    source = conf.get("finetuned_from")
    if source is None:
        return name
    other = (config.get("configurations") or {}).get(source)
    if not other or other.get("method") != FINETUNED_METHOD or other.get("finetuned_from"):
        raise ValueError(f"configurations.{name}.finetuned_from is {source!r}: it must name a configuration that is "
                         "itself fine-tuned (method qlora, no finetuned_from)")
    if conf.get("model") is not None and other.get("model") != conf["model"]:
        raise ValueError(f"configurations.{name}.model is {conf.get('model')!r} but {source!r} fine-tunes "
                         f"{other.get('model')!r}: a configuration predicts with the model it was trained from")
    return str(source)


def predict_model_dir(config: Mapping, name: str, model_dir, layout: Layout = LAYOUT) -> str | None:
    """The model a configuration generates with: its base model's folder (``model_dir(model)``), or for qlora its
    merged fine-tuned model (the directory output of rules/finetune.smk's merge_adapter; with ``finetuned_from``,
    that configuration's); None without an LLM."""
    conf = config["configurations"][name]
    if conf["method"] == FINETUNED_METHOD:
        return layout.finetuned(trained_configuration(config, name), "merged")
    if conf["method"] in LLM_METHODS:
        return model_dir(conf["model"])
    return None


def predict_inputs(config: Mapping, name: str, model_dir, layout: Layout = LAYOUT) -> dict:
    """Input files of rule predict for configuration ``name``."""
    conf = config["configurations"][name]
    method = conf["method"]
    inputs = {"test": layout.split("test")}
    folder = predict_model_dir(config, name, model_dir, layout)
    if method == FINETUNED_METHOD:
        inputs["model"] = folder  # a directory output: depend on the folder itself
    elif method in LLM_METHODS:
        inputs["model"] = f"{folder}/config.json"
    if method in RETRIEVAL_METHODS or conf.get("prompt") in EXAMPLE_KINDS:
        inputs["neighbours"] = layout.neighbours("test")
        inputs["train"] = layout.split("train")
    if conf.get("prompt") == HINTS_KIND or conf.get("icd10") == "lexicon":  # beyond the paper: the code hints
        inputs["hints"] = layout.code_hints("test")
    if conf.get("constrained"):  # grammar limits may come from the training claims
        inputs["train"] = layout.split("train")
    if conf.get("tune_decoding"):
        inputs["decoding"] = layout.decoding_choice(name)
    if is_grounded(conf):  # beyond the paper: the code sets' descriptions (rules/grounding.smk)
        inputs["codeset_index"] = layout.grounding("codeset_index")
    if method == GROUNDED_METHOD:
        inputs["reference_choice"] = layout.grounding("reference_choice", name)
        if uses_training_evidence(conf):
            inputs["anchors"] = layout.grounding("evidence_anchors")
    if conf.get("prompt") == DESCRIBE_KIND:  # nearest code or the model's choice, chosen on validation notes
        inputs["grounding_choice"] = layout.grounding("choice", name)
    return inputs


def lexical_neighbour_count(retrieval: Mapping, setting: str) -> int:
    """How many TF-IDF neighbours a hint file lists for the notes whose prompts ``retrieval[setting]`` governs
    (``hint_neighbours``: notes answered, i.e. validation and test; ``training_hint_neighbours``: training notes).
    With "lexical" the prompt shows their claims in place of the embedding neighbours' (claimbench.lexicon); else 0."""
    return int(retrieval.get("k", 2)) if retrieval.get(setting, "embedding") == "lexical" else 0


def decoding_inputs(config: Mapping, name: str, model_dir, layout: Layout = LAYOUT) -> dict:
    """Input files of rule select_decoding: the model, the validation split and, for a rag prompt, the validation
    notes' neighbours among the training notes. Never the test split."""
    inputs = {k: v for k, v in predict_inputs(config, name, model_dir, layout).items()
              if k not in ("test", "neighbours", "decoding", "hints", "grounding_choice")}
    inputs["validation"] = layout.split("validation")
    if "train" in inputs:
        inputs["neighbours"] = layout.neighbours("finetune")
    if config["configurations"][name].get("prompt") == HINTS_KIND:
        inputs["hints"] = layout.code_hints("finetune")
    return inputs


def tuned_configurations(config: Mapping) -> list[str]:
    return [name for name, conf in config.get("configurations", {}).items() if conf.get("tune_decoding")]


def is_llm(config: Mapping, name: str) -> bool:
    return config["configurations"][name]["method"] in LLM_METHODS


def configuration_pattern(config: Mapping) -> str:
    """A wildcard regex of the configured configuration names (matches nothing when there are none)."""
    return names_pattern(config.get("configurations", {}))
