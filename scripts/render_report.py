# Rule render_report: report/report.qmd -> HTML + PDF (claimbench.report.render), with a provenance record.
import json
import logging
from pathlib import Path

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.report.provenance import provenance  # noqa: E402
from claimbench.report.render import render  # noqa: E402

workdir = Path(snakemake.params.workdir)  # noqa: F821
workdir.mkdir(parents=True, exist_ok=True)
record = workdir / "provenance.json"
record.write_text(json.dumps(provenance(snakemake.params.config), indent=2, default=str))  # noqa: F821
inputs = {**snakemake.params.inputs, "provenance": str(record)}  # noqa: F821
engine = render(snakemake.input.qmd, inputs, snakemake.output.html, snakemake.output.pdf, workdir,  # noqa: F821
                engine=snakemake.params.engine)  # noqa: F821
logging.info("rendered with %s", engine)
