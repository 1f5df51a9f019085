"""Per-configuration settings, resolved from config (imported by rules/predict.smk at parse time: no heavy imports)."""

from __future__ import annotations

import copy
from collections.abc import Mapping

from claimbench.grounding.plan import METHOD as GROUNDED, codeset_index_path, grounding_settings, is_grounded
from claimbench.grounding.plan import DESCRIBE_KIND, choice_path, reference_choice_path
from claimbench.prompts import EXAMPLE_KINDS, HINTS_KIND

LLM_METHODS = ("base", "rag", "qlora")
RETRIEVAL_METHODS = ("rag", "knn")


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
    if conf["method"] == "qlora":
        conf["model_label"] = f"{model} + QLoRA ({trained_configuration(config, name)}, merged)"
    elif conf["method"] == "knn":
        conf["model_label"] = "all-MiniLM-L6-v2 + FAISS IndexFlatL2 (nearest training claim)"
        if conf.get("icd10") == "lexicon":
            conf["model_label"] += "; ICD-10-CM from the training split's code lexicon"
    elif conf["method"] == GROUNDED:
        conf["model_label"] = "the note's lines matched to the code sets' descriptions (all-MiniLM-L6-v2; no LLM)"
    elif conf["method"] == "api":
        conf["model_label"] = conf.get("model_name", "gpt-4o")
    else:
        conf["model_label"] = model
    if conf["method"] == "rag" or conf.get("prompt") in EXAMPLE_KINDS:
        conf.setdefault("k", config.get("retrieval", {}).get("k", 2))
    if is_grounded(conf):  # beyond the paper: descriptions resolved to the codes of config `codesets`
        conf["codesets"] = dict(config.get("codesets") or {})
        conf["grounding"] = grounding_settings(config)
        if conf["method"] == "qlora":
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
    if not other or other.get("method") != "qlora" or other.get("finetuned_from"):
        raise ValueError(f"configurations.{name}.finetuned_from is {source!r}: it must name a configuration that is "
                         "itself fine-tuned (method qlora, no finetuned_from)")
    if conf.get("model") is not None and other.get("model") != conf["model"]:
        raise ValueError(f"configurations.{name}.model is {conf.get('model')!r} but {source!r} fine-tunes "
                         f"{other.get('model')!r}: a configuration predicts with the model it was trained from")
    return str(source)


def predict_model_dir(config: Mapping, name: str, model_dir, results: str = "results") -> str | None:
    """The model a configuration generates with: its base model's folder (``model_dir(model)``), or for qlora its
    merged fine-tuned model (the directory output of rules/finetune.smk's merge_adapter; with ``finetuned_from``,
    that configuration's); None without an LLM."""
    conf = config["configurations"][name]
    if conf["method"] == "qlora":
        return f"{results}/finetune/{trained_configuration(config, name)}/merged"
    if conf["method"] in LLM_METHODS:
        return model_dir(conf["model"])
    return None


def predict_inputs(config: Mapping, name: str, model_dir, results: str = "results") -> dict:
    """Input files of rule predict for configuration ``name``."""
    conf = config["configurations"][name]
    method = conf["method"]
    inputs = {"test": f"{results}/data/split/test.parquet"}
    folder = predict_model_dir(config, name, model_dir, results)
    if method == "qlora":
        inputs["model"] = folder  # a directory output: depend on the folder itself
    elif method in LLM_METHODS:
        inputs["model"] = f"{folder}/config.json"
    if method in RETRIEVAL_METHODS or conf.get("prompt") in EXAMPLE_KINDS:
        inputs["neighbours"] = f"{results}/retrieval/neighbours.parquet"
        inputs["train"] = f"{results}/data/split/train.parquet"
    if conf.get("prompt") == HINTS_KIND or conf.get("icd10") == "lexicon":  # beyond the paper: the code hints
        inputs["hints"] = code_hints_path("test", results)
    if conf.get("constrained"):  # grammar limits may come from the training claims
        inputs["train"] = f"{results}/data/split/train.parquet"
    if conf.get("tune_decoding"):
        inputs["decoding"] = decoding_choice_path(name, results)
    if is_grounded(conf):  # beyond the paper: the code sets' descriptions (rules/grounding.smk)
        inputs["codeset_index"] = codeset_index_path(results)
    if method == GROUNDED:
        inputs["reference_choice"] = reference_choice_path(name, results)
    if conf.get("prompt") == DESCRIBE_KIND:  # nearest code or the model's choice, chosen on validation notes
        inputs["grounding_choice"] = choice_path(name, results)
    return inputs


def code_hints_path(split: str, results: str = "results") -> str:
    """The code hints (beyond the paper, prompt kind rag_lexicon) of the test cases (``"test"``) or of the training
    and validation notes (``"finetune"``): rules code_hints / finetune_code_hints (rules/retrieval.smk)."""
    return f"{results}/retrieval/{'finetune_' if split == 'finetune' else ''}code_hints.parquet"


def lexical_neighbour_count(retrieval: Mapping, setting: str) -> int:
    """How many TF-IDF neighbours a hint file lists for the notes whose prompts ``retrieval[setting]`` governs
    (``hint_neighbours``: notes answered, i.e. validation and test; ``training_hint_neighbours``: training notes).
    With "lexical" the prompt shows their claims in place of the embedding neighbours' (claimbench.lexicon); else 0."""
    return int(retrieval.get("k", 2)) if retrieval.get(setting, "embedding") == "lexical" else 0


def decoding_choice_path(name: str, results: str = "results") -> str:
    """Where rule select_decoding writes a configuration's decoding settings chosen on the validation split."""
    return f"{results}/predictions/decoding/{name}.json"


def decoding_inputs(config: Mapping, name: str, model_dir, results: str = "results") -> dict:
    """Input files of rule select_decoding: the model, the validation split and, for a rag prompt, the validation
    notes' neighbours among the training notes. Never the test split."""
    inputs = {k: v for k, v in predict_inputs(config, name, model_dir, results).items()
              if k not in ("test", "neighbours", "decoding", "hints", "grounding_choice")}
    inputs["validation"] = f"{results}/data/split/validation.parquet"
    if "train" in inputs:
        inputs["neighbours"] = f"{results}/retrieval/finetune_neighbours.parquet"
    if config["configurations"][name].get("prompt") == HINTS_KIND:
        inputs["hints"] = code_hints_path("finetune", results)
    return inputs


def tuned_configurations(config: Mapping) -> list[str]:
    return [name for name, conf in config.get("configurations", {}).items() if conf.get("tune_decoding")]


def is_llm(config: Mapping, name: str) -> bool:
    return config["configurations"][name]["method"] in LLM_METHODS


def configuration_pattern(config: Mapping) -> str:
    """A wildcard regex of the configured configuration names (matches nothing when there are none)."""
    import re

    return "|".join(re.escape(c) for c in config.get("configurations", {})) or "(?!)"
