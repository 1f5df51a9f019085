# Rule merge_adapter: the trained adapter merged into its dense base model for inference (claimbench.models.merge).
import json
from pathlib import Path

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.models.merge import merge_adapter  # noqa: E402

merge = snakemake.params.merge  # noqa: F821
stats = merge_adapter(
    base_dir=snakemake.params.model_dir,  # noqa: F821
    adapter_dir=snakemake.input.adapter,  # noqa: F821
    out_dir=snakemake.output.merged,  # noqa: F821
    dtype=merge.get("dtype", "float32"),
    probe_tokens=int(merge.get("probe_tokens", 32)),
    threads=snakemake.threads,  # noqa: F821
)
stats["configuration"] = snakemake.wildcards.configuration  # noqa: F821
Path(snakemake.output.stats).write_text(json.dumps(stats, indent=2) + "\n")  # noqa: F821
