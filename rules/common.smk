# Shared names: where things go, and which environments rules use.
from claimbench.plan import scheduling  # every rule's priority (claimbench.plan.scheduling)
from claimbench.plan.environment import needs_gpu_env
from claimbench.plan.layout import Layout

RESULTS = "results"
LAYOUT = Layout(RESULTS)  # the paths rules and library share (claimbench.plan.layout)
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
CPU_ENV = "../envs/cpu.yaml"
GPU_ENV = "../envs/gpu.yaml"
REPORT_ENV = "../envs/report.yaml"

# name -> file the report reads. Each stage's rules file registers what its report section shows; the render rule
# depends on all of them, so a changed input rebuilds the report.
REPORT_INPUTS = {}

SPLIT_NAMES = ["train", "validation", "test"]

# Every bootstrap interval in the report draws the same seeded resamples (claimbench.evaluation.bootstrap).
BOOTSTRAP_RESAMPLES = config["evaluation"]["bootstrap"]["n_resamples"]
BOOTSTRAP_SEED = config["evaluation"]["bootstrap"].get("seed", config["seed"])


def raw_extract():
    """The extract to validate: the generated one, or the file config names (data.source)."""
    source = config["data"]["source"]
    return f"{RESULTS}/data/raw/synthetic_extract.parquet" if source == "synthetic" else source


def model_env(stage):
    """The conda env of a model rule (predict, finetune, merge_adapter) from its stage's settings (config `predict`,
    or `finetune` with one configuration's overrides): envs/gpu.yaml when they ask for GPUs, a CUDA device,
    FlashAttention-2 or DeepSpeed (only that env has them), else envs/cpu.yaml."""
    return GPU_ENV if needs_gpu_env(stage) else CPU_ENV
