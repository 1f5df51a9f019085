"""Each model rule's conda environment follows the profile (envs/gpu.yaml where FlashAttention-2, DeepSpeed or GPUs
are asked for, else envs/cpu.yaml), and flash_attention_2 falls back to sdpa, with a note, where it cannot run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from claimbench.models.attention import available_attention
from claimbench.plan.environment import gpu_env_reasons, needs_gpu_env
from claimbench.plan.finetune import deep_merge, settings_for

ROOT = Path(__file__).resolve().parents[1]


def _config(*overlays: str) -> dict:
    merged = yaml.safe_load((ROOT / "config.yaml").read_text())
    for name in overlays:
        merged = deep_merge(merged, yaml.safe_load((ROOT / name).read_text()))
    return merged


def test_stage_settings_decide_the_environment():
    default, paper = _config(), _config("profiles/paper/overrides.yaml")
    assert not needs_gpu_env(default["predict"]) and not needs_gpu_env(settings_for(default["finetune"], "ft-mini"))
    assert gpu_env_reasons(paper["predict"]) == [
        "gpus: 4", "load.device: cuda", "load.attn_implementation: flash_attention_2"]
    assert gpu_env_reasons(settings_for(paper["finetune"], "ft-medium")) == [
        "gpus: 4", "training.attn_implementation: flash_attention_2", "training.deepspeed"]
    # FlashAttention-2 alone (e.g. one GPU, no `gpus` resource) still needs the env that has flash-attn
    assert needs_gpu_env({"gpus": 0, "load": {"device": "auto", "attn_implementation": "flash_attention_2"}})
    assert not needs_gpu_env({"gpus": 0, "load": {"device": "auto", "attn_implementation": "sdpa"}})


# Parses the workflow with the given config files (no DAG, no inputs needed) and prints each model rule's conda env.
RULE_ENVS = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.iocontainers import Wildcards
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings, StorageSettings

root = Path(sys.argv[1])
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    wf = api.workflow(resource_settings=ResourceSettings(), storage_settings=StorageSettings(),
                      config_settings=ConfigSettings(configfiles=[root / f for f in sys.argv[2:]]),
                      snakefile=root / "Snakefile", workdir=root)._workflow
    envs = {}
    for rule, configuration in [("predict", "base"), ("predict", "knn"), ("finetune", "ft-mini"),
                                ("merge_adapter", "ft-medium"), ("select_decoding", "ft-mini+lexicon")]:
        wildcards = Wildcards(fromdict={"configuration": configuration})
        envs[f"{rule}/{configuration}"] = Path(str(wf.get_rule(rule).expand_conda_env(wildcards).file)).name
print(json.dumps(envs))
"""


def _rule_envs(*configfiles: str) -> dict:
    result = subprocess.run([sys.executable, "-c", RULE_ENVS, str(ROOT), *configfiles], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_rules_take_their_environment_from_the_profile(tmp_path):
    # the paper profile's model paths are placeholders the hospital edits; the configuration check refuses them, so
    # point them at folders that hold a model's config.json (the rules' environments do not depend on the weights)
    overlay = {"models": {}}
    for name in ("phi3-mini", "phi3-medium"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text('{"model_type": "phi3"}')
        overlay["models"][name] = {"source": {"path": str(tmp_path / name)}}
    (tmp_path / "models.yaml").write_text(yaml.safe_dump(overlay))
    # select_decoding: ft-mini+lexicon of the study extras (the default has no configuration that tunes decoding)
    assert _rule_envs("config.yaml", "profiles/study/extras.yaml") == {
        "predict/base": "cpu.yaml", "predict/knn": "cpu.yaml", "finetune/ft-mini": "cpu.yaml",
        "merge_adapter/ft-medium": "cpu.yaml", "select_decoding/ft-mini+lexicon": "cpu.yaml"}
    # profiles/paper: the LLM predictions and the fine-tuning run where flash-attn and DeepSpeed are; knn needs neither
    assert _rule_envs("config.yaml", "profiles/paper/overrides.yaml", str(tmp_path / "models.yaml")) == {
        "predict/base": "gpu.yaml", "predict/knn": "cpu.yaml", "finetune/ft-mini": "gpu.yaml",
        "merge_adapter/ft-medium": "gpu.yaml", "select_decoding/ft-mini+lexicon": "gpu.yaml"}


def test_flash_attention_falls_back_to_sdpa_where_it_cannot_run():
    from transformers.utils import is_flash_attn_2_available

    if is_flash_attn_2_available():
        pytest.skip("flash-attn runs on this machine: there is nothing to fall back from")
    attn, note = available_attention("flash_attention_2")
    assert attn == "sdpa" and "flash_attention_2 was requested" in note and "sdpa" in note
    assert available_attention("sdpa") == ("sdpa", None) and available_attention(None) == (None, None)


def test_prediction_meta_records_the_fallback(tmp_path):
    import torch
    from transformers.utils import is_flash_attn_2_available

    from claimbench.models.tiny import build_tiny
    from claimbench.predict.run import predict_llm

    if is_flash_attn_2_available():
        pytest.skip("flash-attn runs on this machine: there is nothing to fall back from")
    torch.set_num_threads(1)
    model = build_tiny("llama", tmp_path / "llama", seed=11)
    cases = pd.DataFrame([{"encounter_id": "E1", "op_note": "Open inguinal hernia repair."}])
    conf = {"method": "base", "model": "tiny", "prompt": "base", "generation": {"max_new_tokens": 4},
            "load": {"device": "cpu", "attn_implementation": "flash_attention_2"}}
    meta = predict_llm("base", conf, cases, 1, tmp_path / "base.jsonl", tmp_path / "base.meta.json", model,
                       progress=False)
    assert meta["n_cases"] == 1 and meta["load"]["attn_implementation"] == "sdpa"
    assert "flash_attention_2 was requested" in json.loads((tmp_path / "base.meta.json").read_text())["attention_note"]
