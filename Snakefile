# ClaimBench: rebuilds published studies of LLMs for surgical billing and coding, offline, end to end.
# Read it as: rule all -> the report -> the rules in rules/*.smk -> scripts/ -> src/claimbench (the library).
import os
import sys

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


# Every job imports this checkout's library, whether or not it was pip-installed, and never reaches a model hub.
sys.path.insert(0, os.path.join(workflow.basedir, "src"))
from claimbench.config_check import ConfigError, check_config
from claimbench.audit.codeversion import add_code_versions
from claimbench.offline import prepare_workflow_env

# A bad configuration (wrong type, unknown model, missing weights, a bad code-set row) stops here, before any job
# runs, with one line naming the key, file and row (a SystemExit message is all Snakemake prints).
try:
    check_config(config, os.path.join(workflow.basedir, "config", "schema.yaml"))
except ConfigError as exc:
    sys.exit(f"Configuration error: {exc}")
validate(config, "config/schema.yaml")  # passes now; Snakemake's validate also fills the schema's defaults

prepare_workflow_env(workflow.basedir)


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/retrieval.smk"
include: "rules/finetune.smk"
include: "rules/predict.smk"
include: "rules/grounding.smk"
include: "rules/cohort.smk"
include: "rules/evaluate.smk"
include: "rules/style_shift.smk"
include: "rules/querybench.smk"
include: "rules/paper002.smk"
include: "rules/coding.smk"
include: "rules/report.smk"

# Every scripted rule gets params `code` (its script + library code version): a library edit reruns what it affects.
add_code_versions(workflow)


rule all:
    input:
        REPORT_OUTPUTS,
        CODED_OUTPUTS,  # config code.notes: new notes coded (rules/coding.smk); none unless set
    default_target: True
