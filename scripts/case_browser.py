# Rule case_browser: results/report/cases.html, each test case's claims side by side (claimbench.report.case_browser).
import logging

from claimbench.logs import redirect_to_log

redirect_to_log(snakemake)  # noqa: F821 (injected by Snakemake's script directive)

from claimbench.report.case_browser import write_case_browser  # noqa: E402

shown = write_case_browser(
    test_path=snakemake.input.test,  # noqa: F821
    configurations_path=snakemake.input.configurations,  # noqa: F821
    case_paths=dict(snakemake.params.cases),  # noqa: F821
    prediction_paths=dict(snakemake.params.predictions),  # noqa: F821
    out_path=snakemake.output.html,  # noqa: F821
    max_cases=snakemake.params.max_cases,  # noqa: F821
    title=snakemake.params.title,  # noqa: F821
)
logging.info("%d cases written to %s", shown, snakemake.output.html)  # noqa: F821
