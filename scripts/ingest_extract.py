# Rule ingest_extract: validate the raw extract (claimbench.data.ingest); rejected records are kept and counted.
import json
import logging
import sys

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.data.contract import Contract  # noqa: E402
from claimbench.data.ingest import ingest, write_rejections  # noqa: E402
from claimbench.data.readers import ExtractError  # noqa: E402
from claimbench.data.io import write_encounters  # noqa: E402

source = snakemake.input.extract  # noqa: F821
try:
    result = ingest(source, Contract.from_config(**snakemake.params.contract))  # noqa: F821
except ExtractError as exc:
    print(f"ERROR: {exc}", file=sys.__stderr__)  # one line on the console, not a traceback
    logging.error("%s", exc)
    sys.exit(1)
for rejection in result.rejections[:50]:
    logging.warning("rejected: %s", rejection.message(source))
if not result.records:
    message = f"{source}: no valid records ({len(result.rejections)} rejected; see {snakemake.output.rejected})"  # noqa: F821
    write_rejections(result, snakemake.output.rejected, source)  # noqa: F821
    print(f"ERROR: {message}", file=sys.__stderr__)
    sys.exit(1)
write_encounters(result.records, snakemake.output.encounters)  # noqa: F821
write_rejections(result, snakemake.output.rejected, source)  # noqa: F821
summary = result.summary(source)
with open(snakemake.output.summary, "w") as handle:  # noqa: F821
    json.dump(summary, handle, indent=2)
logging.info("%s", summary)
