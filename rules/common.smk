# Shared names: where things go, and which environments rules use.
RESULTS = "results"
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
CPU_ENV = "../envs/cpu.yaml"
REPORT_ENV = "../envs/report.yaml"

# name -> file the report reads. Each stage's rules file registers what its report section shows; the render rule
# depends on all of them, so a changed input rebuilds the report.
REPORT_INPUTS = {}

SPLIT_NAMES = ["train", "validation", "test"]


def raw_extract():
    """The extract to validate: the generated one, or the file config names (data.source)."""
    source = config["data"]["source"]
    return f"{RESULTS}/data/raw/synthetic_extract.parquet" if source == "synthetic" else source
