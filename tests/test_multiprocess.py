"""The paper profile's multi-process path run for real on 2 CPU processes (profiles/multiprocess): DeepSpeed ZeRO-3
fine-tuning through `accelerate launch` with the project's accelerate config and DeepSpeed JSON, and data-parallel
prediction through config/accelerate/multi_gpu.yaml. Needs deepspeed, which setup.sh installs
(requirements-nodeps.lock): without it these tests fail rather than skip, so a broken install cannot pass unnoticed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from safetensors.torch import load_file

import _finetune_tiny as tiny
from conftest import ROOT, SNAKEMAKE, copy_repo, run_failure
from test_predict import TEST, strip_timing

PROFILE = ROOT / "profiles" / "multiprocess"
SRC = ROOT / "src"
TESTS = Path(__file__).resolve().parent
# A killed run's leftovers must not look finished; this many cases make each shard need several batches.
CASES = pd.concat([TEST.assign(encounter_id=TEST["encounter_id"] + f"-{i}") for i in range(3)], ignore_index=True)


def env() -> dict:
    """The environment of a launched job: this checkout's source first, one thread per process."""
    paths = [str(SRC), str(TESTS), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "OMP_NUM_THREADS": "1"}


def profile_settings() -> dict:
    """config.yaml's ``finetune`` with the smoke and multiprocess overlays, as Snakemake merges them."""
    from claimbench.plan.finetune import deep_merge, settings_for

    section = yaml.safe_load((ROOT / "config.yaml").read_text())["finetune"]
    for overlay in ("profiles/smoke/overrides.yaml", "profiles/multiprocess/overrides.yaml"):
        section = deep_merge(section, yaml.safe_load((ROOT / overlay).read_text()).get("finetune") or {})
    return settings_for(section, "ft-mini")


def lora_shapes(model_dir: Path, lora: dict) -> dict[str, tuple[int, ...]]:
    """Every LoRA tensor a whole adapter of this model holds, with its shape (from a meta-device model)."""
    from peft import get_peft_model, get_peft_model_state_dict

    from claimbench.models.lora import build_lora_config, load_config, meta_model, resolve_target_modules

    model = meta_model(load_config(model_dir))
    targets = resolve_target_modules(lora.get("target_modules"), model)
    state = get_peft_model_state_dict(get_peft_model(model, build_lora_config(lora, targets)),
                                      save_embedding_layers=False)
    return {name: tuple(t.shape) for name, t in state.items()}


# ----------------------------------------------------------------------------------------------- fine-tuning


def run_job(job_file: Path, launch: dict) -> None:
    """A fine-tuning job as scripts/finetune.py starts it: `accelerate launch` of claimbench.models.finetune when
    ``launch`` names an accelerate config, else one process; from the repository root (the configs' paths)."""
    from claimbench.models.launch import accelerate_command, uses_accelerate

    cmd = (accelerate_command(launch, "claimbench.models.finetune", [job_file]) if uses_accelerate(launch)
           else [sys.executable, "-m", "claimbench.models.finetune", str(job_file)])
    result = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The same examples, seed and global batch (2 sequences a step) trained in one process (gradient accumulation
    2) and in 2 ZeRO-3 processes through `accelerate launch` (1 each), with the profile's settings. LoRA dropout is
    0 here: each process draws its own dropout masks, so with dropout the two runs differ by design."""
    root = tmp_path_factory.mktemp("zero3")
    model = tiny.save_model("llama", root / "model")
    train = tiny.write_train(root / "train.parquet", n=8)
    settings = profile_settings()
    settings["lora"]["dropout"] = 0.0
    settings["data"]["max_examples"] = 8
    settings["training"].update(max_steps=3, logging_steps=1)
    runs = {}
    for name, processes in (("single", 1), ("zero3", 2)):
        run = dict(settings, training=dict(settings["training"]), launch=dict(settings["launch"]))
        if processes == 1:
            run["training"].update(deepspeed=None, gradient_accumulation_steps=2)
            run["launch"] = {"accelerate_config": None, "num_processes": 1}
        out = root / name
        job = {"configuration": "ft-test", "model": "tiny", "model_dir": str(model), "train": str(train),
               "adapter_dir": str(out / "adapter"), "stats": str(out / "train_stats.json"), "settings": run,
               "seed": 3, "threads": 1}
        out.mkdir()
        (out / "job.json").write_text(json.dumps(job))
        run_job(out / "job.json", run["launch"])
        runs[name] = out
    return {"model": model, "settings": settings, **runs}


def test_zero3_runs_on_two_gloo_processes_with_partitioned_nf4_weights(trained):
    stats = json.loads((trained["zero3"] / "train_stats.json").read_text())
    dist = stats["distributed"]
    assert (dist["world_size"], dist["backend"], dist["engine"], dist["zero_stage"]) == (2, "gloo",
                                                                                       "DeepSpeedEngine", 3)
    # every parameter partitioned, the packed NF4 weights (quant_storage = float32) among them: each process
    # holds half of the elements
    assert dist["n_4bit"] > 0 and dist["n_4bit_partitioned"] == dist["n_4bit"]
    assert dist["n_partitioned"] == dist["n_parameters"]
    assert dist["local_elements"] * 2 == pytest.approx(dist["total_elements"], rel=1e-3)
    assert stats["method"] == "QLoRA" and stats["examples_seen"] == 6 and stats["steps"] == 3


def test_one_process_and_two_zero3_processes_train_the_same(trained):
    """Same loss curve (relative 1e-5) and the same adapter (absolute 1e-5; measured 2026-12-07: at most 4e-7)."""
    curves = [json.loads((trained[n] / "train_stats.json").read_text())["loss_history"] for n in ("single", "zero3")]
    assert [e["step"] for e in curves[0]] == [e["step"] for e in curves[1]] == [1, 2, 3]
    assert [e["loss"] for e in curves[1]] == pytest.approx([e["loss"] for e in curves[0]], rel=1e-5)
    single = load_file(trained["single"] / "adapter" / "adapter_model.safetensors")
    zero3 = load_file(trained["zero3"] / "adapter" / "adapter_model.safetensors")
    assert single.keys() == zero3.keys()
    for name, tensor in single.items():
        torch.testing.assert_close(zero3[name], tensor, atol=1e-5, rtol=0, msg=name)
    assert any(t.abs().max() > 0 for n, t in zero3.items() if "lora_B" in n)  # it trained (B starts at zero)


def test_rank0_saves_the_whole_adapter_which_merges_and_predicts(trained, tmp_path):
    """Gathered from the partitions: every LoRA tensor of every linear layer and lm_head, at its full shape."""
    from claimbench.models.merge import merge_adapter
    from claimbench.predict.run import predict_llm

    adapter = trained["zero3"] / "adapter"
    saved = load_file(adapter / "adapter_model.safetensors")
    expected = lora_shapes(trained["model"], trained["settings"]["lora"])
    assert {n: tuple(t.shape) for n, t in saved.items()} == expected
    assert all(t.abs().max() > 0 for n, t in saved.items() if "lora_A" in n)  # no empty partition placeholders
    assert not (trained["zero3"] / "adapter.partial").exists()

    stats = merge_adapter(trained["model"], adapter, tmp_path / "merged", probe_tokens=16, threads=1)
    assert stats["probe_max_abs_logit_diff"] <= 1e-4 * max(1.0, stats["probe_max_abs_logit"])
    conf = {"method": "qlora", "model": "tiny", "prompt": "finetuned",
            "generation": {"max_new_tokens": 8, "batch_size": 2}}
    meta = predict_llm("ft", conf, TEST.head(2), len(TEST), tmp_path / "ft.jsonl", tmp_path / "ft.meta.json",
                       tmp_path / "merged", progress=False)
    assert meta["n_cases"] == 2 and meta["n_new_tokens"] > 0


def test_paper_profile_finetune_settings_train_on_two_zero3_processes(trained, tmp_path):
    """profiles/paper's own finetune section (NF4 with bfloat16 storage and compute, bf16 mixed precision, activation
    checkpointing, adamw_torch, the DeepSpeed JSON, accelerate launch) on the tiny model, 2 CPU processes in place of
    4 GPUs; flash-attention-2 falls back to sdpa (logged), as it does wherever flash-attn cannot run."""
    from claimbench.plan.finetune import deep_merge, settings_for

    paper = yaml.safe_load((ROOT / "profiles/paper/overrides.yaml").read_text())["finetune"]
    section = deep_merge(yaml.safe_load((ROOT / "config.yaml").read_text())["finetune"], paper)
    settings = deep_merge(settings_for(section, "ft-mini"), {
        "data": {"max_examples": 4, "max_seq_length": 512},
        "training": {"max_steps": 2, "logging_steps": 1, "gradient_accumulation_steps": 1},
        "launch": {"num_processes": 2}})
    job = {"configuration": "ft-paper", "model": "tiny", "model_dir": str(trained["model"]),
           "train": str(trained["model"].parent / "train.parquet"), "adapter_dir": str(tmp_path / "adapter"),
           "stats": str(tmp_path / "train_stats.json"), "settings": settings, "seed": 3, "threads": 1}
    (tmp_path / "job.json").write_text(json.dumps(job))
    run_job(tmp_path / "job.json", settings["launch"])
    stats = json.loads((tmp_path / "train_stats.json").read_text())
    assert stats["distributed"]["zero_stage"] == 3 and stats["distributed"]["world_size"] == 2
    assert stats["distributed"]["n_4bit_partitioned"] == stats["distributed"]["n_4bit"] > 0
    ran = stats["settings"]
    assert ran["quantization"]["quant_storage"] == "bfloat16" and ran["training"]["bf16_mixed_precision"]
    assert all(0 < e["loss"] < 100 for e in stats["loss_history"]) and stats["steps"] == 2
    saved = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    assert {n: tuple(t.shape) for n, t in saved.items()} == lora_shapes(trained["model"], settings["lora"])


# -------------------------------------------------------------------------------------- data-parallel prediction

BASE = {"method": "base", "model": "tiny", "prompt": "base", "generation": {"max_new_tokens": 10, "batch_size": 1}}
DATA_PARALLEL = {"accelerate_config": "config/accelerate/multi_gpu.yaml", "num_processes": 2}  # as predict.gpus: 2

# The parent of a data-parallel run (predict_llm), its worker module replaced by tests/_killed_worker.py when
# argv[5] is "kill": rank 1 then dies (SIGKILL) after its first batch.
PARENT = """
import json, sys, pandas as pd, torch
torch.set_num_threads(1)
import claimbench.models.launch as launch
from claimbench.predict.run import predict_llm
conf = {**json.loads(sys.argv[1]), "launch": json.loads(sys.argv[2])}
if sys.argv[5] == "kill":
    command = launch.accelerate_command
    launch.accelerate_command = lambda settings, module, args=(): command(settings, "_killed_worker", args)
out = sys.argv[4]
predict_llm("base", conf, pd.read_parquet(sys.argv[3]), 18, out + "/base.jsonl", out + "/base.meta.json", sys.argv[6],
            progress=False)
"""


def test_shards_that_predict_a_case_twice_are_refused(tmp_path):
    """What 2 CPU processes that each believed they were alone wrote: the parent refuses to merge it."""
    from claimbench.predict.data_parallel import shard_counts
    from claimbench.predict.store import PredictionStore

    ids = [f"E{i}" for i in range(4)]
    for shard, mine in ((0, ids[0::2]), (1, ids[1::2])):
        store = PredictionStore(tmp_path / "p.jsonl", "k", shard)
        store.append({"encounter_id": e, "prompt_sha256": "h", "generated_text": "x"} for e in mine)
        store.close()
    assert shard_counts(tmp_path / "p.jsonl", "k", ids) == {"shard0": 2, "shard1": 2}
    store = PredictionStore(tmp_path / "p.jsonl", "k", 1)
    store.append([{"encounter_id": "E0", "prompt_sha256": "h", "generated_text": "x"}])
    store.close()
    with pytest.raises(RuntimeError, match="also predicted in p.k.shard0.jsonl, e.g. E0"):
        shard_counts(tmp_path / "p.jsonl", "k", ids)


def run_parent(tmp_path, model, out: Path, kill: bool) -> subprocess.CompletedProcess:
    cases = tmp_path / "cases.parquet"
    CASES.to_parquet(cases)
    cmd = [sys.executable, "-c", PARENT, json.dumps(BASE), json.dumps(DATA_PARALLEL), str(cases), str(out),
           "kill" if kill else "run", str(model)]
    return subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    from claimbench.models.tiny import build_tiny

    return build_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama", seed=11)


def test_data_parallel_prediction_killed_then_resumed_equals_one_process(tmp_path, tiny_llama):
    """2 processes through the paper's multi_gpu.yaml: a process killed mid-run leaves no prediction file (nor meta)
    that Snakemake would accept; the rerun resumes from the shards and every case is predicted exactly once, merged in
    test-split order, with the single-process text."""
    from claimbench.predict.run import predict_llm

    out = tmp_path / "dp"
    killed = run_parent(tmp_path, tiny_llama, out, kill=True)
    assert killed.returncode != 0
    assert not (out / "base.jsonl").exists() and not (out / "base.meta.json").exists()
    shards = sorted((out / ".partial").glob("base.*.shard*.jsonl"))
    assert [p.name.rsplit(".", 2)[1] for p in shards] == ["shard0", "shard1"]
    left = sum(len(p.read_text().splitlines()) for p in shards)
    assert 0 < left < len(CASES)

    rerun = run_parent(tmp_path, tiny_llama, out, kill=False)
    assert rerun.returncode == 0, rerun.stderr[-5000:]
    meta = json.loads((out / "base.meta.json").read_text())
    assert meta["data_parallel_processes"] == 2 and meta["device"] == "cpu (data-parallel)"
    assert meta["resumed_cases"] == left
    assert sorted(meta["shard_cases"]) == ["shard0", "shard1"] and sum(meta["shard_cases"].values()) == len(CASES)
    assert not list((out / ".partial").glob("*.jsonl"))

    torch.set_num_threads(1)
    predict_llm("base", BASE, CASES, 18, tmp_path / "one" / "base.jsonl", tmp_path / "one" / "base.meta.json",
                tiny_llama, progress=False)
    parallel, single = strip_timing(out / "base.jsonl"), strip_timing(tmp_path / "one" / "base.jsonl")
    assert [r["encounter_id"] for r in parallel] == CASES["encounter_id"].tolist()
    assert parallel == single  # every field but the wall-clock ones


# ---------------------------------------------------------------------------------------------- the workflow


@pytest.mark.workflow
def test_multiprocess_profile_finetunes_merges_predicts_and_evaluates(tmp_path):
    """profiles/multiprocess through Snakemake: ft-mini fine-tuned by 2 ZeRO-3 processes, merged, predicted by 2
    data-parallel processes and evaluated."""
    from claimbench.data.io import read_encounters
    from claimbench.plan.finetune import deep_merge
    from claimbench.predict.run import predict_llm
    from claimbench.plan.predict import resolve

    workdir = copy_repo(tmp_path / "repo")
    target = "results/evaluation/cases/ft-mini.parquet"
    result = subprocess.run([SNAKEMAKE, "--profile", "profiles/multiprocess", target], cwd=workdir, env=env(),
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, run_failure(workdir, result.stdout + result.stderr)

    results = workdir / "results"
    stats = json.loads((results / "finetune/ft-mini/train_stats.json").read_text())
    assert stats["distributed"]["zero_stage"] == 3 and stats["distributed"]["world_size"] == 2
    assert stats["distributed"]["n_4bit_partitioned"] == stats["distributed"]["n_4bit"] > 0
    job = json.loads((results / "finetune/ft-mini/job.json").read_text())
    assert job["threads"] == 1 and job["settings"]["launch"]["num_processes"] == 2
    adapter = load_file(results / "finetune/ft-mini/adapter/adapter_model.safetensors")
    model_dir = workdir / job["model_dir"]
    assert {n: tuple(t.shape) for n, t in adapter.items()} == lora_shapes(model_dir, job["settings"]["lora"])
    merged = json.loads((results / "finetune/ft-mini/merge_stats.json").read_text())
    assert merged["probe_max_abs_logit_diff"] <= 1e-4 * max(1.0, merged["probe_max_abs_logit"])

    meta = json.loads((results / "predictions/ft-mini.meta.json").read_text())
    assert meta["data_parallel_processes"] == 2 and sum(meta["shard_cases"].values()) == meta["n_cases"] == 12
    cases = pd.read_parquet(results / "evaluation/cases/ft-mini.parquet")
    assert sorted(cases["encounter_id"].astype(str)) == sorted(meta["case_ids"])

    # the same cases in one process give the same text
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    for overlay in ("profiles/smoke/overrides.yaml", "profiles/multiprocess/overrides.yaml"):
        config = deep_merge(config, yaml.safe_load((workdir / overlay).read_text()))
    conf = {**resolve(config, "ft-mini"), "launch": {}}
    test = read_encounters(results / "data/split/test.parquet")
    chosen = test.set_index(test["encounter_id"].astype(str)).loc[meta["case_ids"]].reset_index(drop=True)
    torch.set_num_threads(1)
    predict_llm("ft-mini", conf, chosen, len(test), tmp_path / "one.jsonl", tmp_path / "one.meta.json",
                results / "finetune/ft-mini/merged", progress=False)
    assert strip_timing(results / "predictions/ft-mini.jsonl") == strip_timing(tmp_path / "one.jsonl")
