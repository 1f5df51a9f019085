# Rule convert_model: PyPI-packaged GGUF -> safetensors folder (claimbench.models.convert).
from pathlib import Path

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.models.convert import convert_gguf  # noqa: E402

convert_gguf(
    snakemake.params.source,  # noqa: F821
    out_dir=Path(snakemake.output.config).parent,  # noqa: F821
    workdir=Path(snakemake.params.workdir),  # noqa: F821
)
