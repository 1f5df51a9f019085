# Rule tiny_tokenizer: SmolLM2's tokenizer from its GGUF, saved once for the tiny models (claimbench.models.tiny).
from pathlib import Path

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.models.tiny import load_tokenizer  # noqa: E402

tokenizer = load_tokenizer(workdir=Path(snakemake.params.workdir))  # noqa: F821
tokenizer.save_pretrained(Path(snakemake.output.tokenizer).parent)  # noqa: F821
