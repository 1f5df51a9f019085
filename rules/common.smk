# Shared names: where things go, and which environments rules use.
RESULTS = "results"
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
CPU_ENV = "../envs/cpu.yaml"
REPORT_ENV = "../envs/report.yaml"
