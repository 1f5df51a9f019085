# The report: report/report.qmd and its section files, rendered to self-contained HTML and PDF. Include last: it
# depends on every file the stages registered in REPORT_INPUTS.

import glob
import json

REPORT_OUTPUTS = [f"{RESULTS}/report/report.html", f"{RESULTS}/report/report.pdf", f"{RESULTS}/report/cases.html"]


rule render_report:
    input:
        unpack(lambda wc: REPORT_INPUTS),
        qmd="report/report.qmd",
        sections=sorted(glob.glob("report/_*.qmd")),
    output:
        html=report(REPORT_OUTPUTS[0], caption="../report/captions/report.rst", category="Report"),
        pdf=report(REPORT_OUTPUTS[1], caption="../report/captions/report.rst", category="Report"),
    params:
        inputs={name: str(path) for name, path in REPORT_INPUTS.items()},
        engine=config["report"].get("engine", "auto"),
        workdir=f"{RESULTS}/report/build",
        # plain-data copy of the configuration for the provenance record
        config=json.loads(json.dumps(config, default=str)),
    log:
        f"{LOGS}/render_report.log",
    benchmark:
        f"{BENCH}/render_report.tsv"
    conda:
        REPORT_ENV
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/render_report.py"


# Beside the report: every test case's note, the coder's claim and each configuration's claim, codes marked matched /
# missed / extra / fabricated (claimbench.report.case_browser). One static HTML page; the report links to it.
rule case_browser:
    input:
        test=LAYOUT.split("test"),
        configurations=rules.evaluate_summary.output.configurations,
        cases=list(EVAL_CASES.values()),
        predictions=[LAYOUT.predictions(name) for name in EVAL_CONFIGURATIONS],
    output:
        html=REPORT_OUTPUTS[2],
    params:
        cases=EVAL_CASES,
        predictions={name: LAYOUT.predictions(name) for name in EVAL_CONFIGURATIONS},
        max_cases=config["report"].get("case_browser", {}).get("max_cases"),
        title=config["report"].get("title", "ClaimBench") + ": test cases",
    log:
        f"{LOGS}/case_browser.log",
    benchmark:
        f"{BENCH}/case_browser.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/case_browser.py"
