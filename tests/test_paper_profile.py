"""profiles/paper builds the paper's settings (paper 000, Methods) without loading any real weights: quantization,
LoRA (on a meta-device Phi-3), DeepSpeed ZeRO-3 (its "auto" values filled by transformers), the accelerate launch
configs, resources, and the inference load / generation settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from claimbench.plan.finetune import deep_merge, finetuned_models, settings_for
from claimbench.models.lora import build_lora_config, lora_param_count, meta_model, resolve_target_modules
from claimbench.models.quantization import build_bnb_config

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "profiles" / "paper"
PAPER_TARGETS = ["down_proj", "gate_up_proj", "lm_head", "o_proj", "qkv_proj"]  # the paper's list, sorted


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def profile() -> dict:
    return _yaml(PROFILE / "config.yaml")


@pytest.fixture(scope="module")
def config(profile) -> dict:
    """config.yaml with the profile's overlay merged over it, as Snakemake does with --configfile."""
    merged = _yaml(ROOT / "config.yaml")
    files = profile["configfile"] if isinstance(profile["configfile"], list) else [profile["configfile"]]
    for name in files:
        merged = deep_merge(merged, _yaml(ROOT / name))
    return merged


def phi3_mini_config():
    from transformers import Phi3Config

    return Phi3Config(hidden_size=3072, intermediate_size=8192, num_hidden_layers=32, num_attention_heads=32,
                      num_key_value_heads=32, vocab_size=32064)


def test_profile_overlay_and_resources(profile, config):
    import jsonschema

    jsonschema.validate(config, _yaml(ROOT / "config" / "schema.yaml"))
    assert "gpu=4" in profile["resources"]
    assert config["finetune"]["gpus"] == 4 and config["finetune"]["launch"]["num_processes"] == 4
    # the models are local folders (placeholders the hospital edits), the paper's two Phi-3 variants
    assert {m: config["models"][m]["stands_in_for"] for m in ("phi3-mini", "phi3-medium")} == {
        "phi3-mini": "Phi-3-mini-128k-instruct", "phi3-medium": "Phi-3-medium-128k-instruct"}
    assert all("path" in config["models"][m]["source"] for m in ("phi3-mini", "phi3-medium"))
    assert finetuned_models(config) == {"ft-mini": "phi3-mini", "ft-medium": "phi3-medium",
                                        "ft-mini+lexicon": "phi3-mini"}


def test_quantization_is_nf4_double_quant_bf16(config):
    bnb = build_bnb_config(settings_for(config["finetune"], "ft-mini")["quantization"])
    assert bnb.load_in_4bit and not bnb.load_in_8bit
    assert bnb.bnb_4bit_quant_type == "nf4" and bnb.bnb_4bit_use_double_quant
    assert bnb.bnb_4bit_compute_dtype == torch.bfloat16
    assert bnb.bnb_4bit_quant_storage == torch.bfloat16  # = weight dtype: what ZeRO-3 needs to shard 4-bit weights
    assert settings_for(config["finetune"], "ft-mini")["training"]["dtype"] == "bfloat16"


def test_lora_on_a_meta_phi3_is_the_papers(config):
    lora = settings_for(config["finetune"], "ft-mini")["lora"]
    model = meta_model(phi3_mini_config())
    targets = resolve_target_modules(lora["target_modules"], model)
    assert targets == PAPER_TARGETS
    peft_config = build_lora_config(lora, targets)
    assert (peft_config.r, peft_config.lora_alpha, peft_config.lora_dropout) == (64, 16, 0.1)
    assert peft_config.task_type == "CAUSAL_LM" and peft_config.bias == "none"
    assert lora_param_count(phi3_mini_config(), lora)["paper_convention"] == 201_612_288


@pytest.mark.parametrize("configuration", ["ft-mini", "ft-medium"])
def test_training_settings(config, configuration):
    t = settings_for(config["finetune"], configuration)["training"]
    assert t["attn_implementation"] == "flash_attention_2"
    assert t["bf16_mixed_precision"] and t["learning_rate"] == 2e-4 and t["max_grad_norm"] == 0.3
    assert t["per_device_batch_size"] * t["gradient_accumulation_steps"] * config["finetune"]["launch"][
        "num_processes"] == 16  # QLoRA's batch of 16
    assert (ROOT / t["deepspeed"]).exists()


def _trainer_deepspeed_config(config: dict):
    """transformers' HfTrainerDeepSpeedConfig without deepspeed installed: its base class is accelerate's
    HfDeepSpeedConfig only when deepspeed is importable, so the same methods are put on that base here."""
    import transformers.integrations.deepspeed as hf_ds
    from accelerate.utils.deepspeed import HfDeepSpeedConfig

    methods = {name: hf_ds.HfTrainerDeepSpeedConfig.__dict__[name]
               for name in ("dtype", "is_auto", "fill_match", "fill_only", "trainer_config_process",
                            "trainer_config_finalize")}

    def __init__(self, cfg):
        HfDeepSpeedConfig.__init__(self, cfg)
        self._dtype = None
        self.mismatches = []

    return type("TrainerDeepSpeedConfig", (HfDeepSpeedConfig,), {"__init__": __init__, **methods})(config)


def test_deepspeed_zero3_config_resolves_against_the_training_arguments(config):
    """transformers fills the JSON's "auto" values from the TrainingArguments the paper settings give, with no
    mismatch (the same code Trainer runs under `accelerate launch`), for Phi-3-mini's shapes (meta device)."""
    from claimbench.models.sft_trainer import training_arguments

    settings = settings_for(config["finetune"], "ft-mini")
    ds_file = ROOT / settings["training"]["deepspeed"]
    cpu_settings = deep_merge(settings, {"training": {"deepspeed": None}})  # TrainingArguments would import deepspeed
    args = training_arguments(cpu_settings, "/tmp/claimbench-ds-test", seed=1)
    ds = _trainer_deepspeed_config(json.loads(ds_file.read_text()))
    assert ds.is_zero3() and not ds.is_offload()
    ds.trainer_config_process(args)
    ds.trainer_config_finalize(args, meta_model(phi3_mini_config()), num_training_steps=100)
    assert ds.mismatches == []
    filled = ds.config
    assert "auto" not in json.dumps(filled)
    assert filled["zero_optimization"]["stage"] == 3
    assert filled["bf16"]["enabled"] is True and filled["fp16"]["enabled"] is False
    assert filled["train_micro_batch_size_per_gpu"] == 1 and filled["gradient_accumulation_steps"] == 4
    assert filled["gradient_clipping"] == 0.3
    assert filled["zero_optimization"]["reduce_bucket_size"] == 3072 * 3072  # from the model's hidden size
    assert filled["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


def test_accelerate_configs():
    from accelerate.commands.config.config_args import load_config_from_file

    zero3 = load_config_from_file(str(ROOT / "config/accelerate/deepspeed_zero3.yaml"))
    assert str(zero3.distributed_type).endswith("DEEPSPEED") and zero3.num_processes == 4
    assert (ROOT / zero3.deepspeed_config["deepspeed_config_file"]).exists()
    assert zero3.deepspeed_config["zero3_init_flag"] is True
    multi = load_config_from_file(str(ROOT / "config/accelerate/multi_gpu.yaml"))
    assert str(multi.distributed_type).endswith("MULTI_GPU") and multi.num_processes == 4
    assert str(multi.mixed_precision).endswith("bf16")


def test_launch_command(config, monkeypatch):
    import sys

    from claimbench.models.launch import accelerate_command, uses_accelerate

    monkeypatch.chdir(ROOT)
    launch = config["finetune"]["launch"]
    assert uses_accelerate(launch) and not uses_accelerate(_yaml(ROOT / "config.yaml")["finetune"]["launch"])
    cmd = accelerate_command(launch, "claimbench.models.finetune", ["results/finetune/ft-mini/job.json"])
    assert cmd == [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                   "config/accelerate/deepspeed_zero3.yaml", "--num_processes", "4", "-m",
                   "claimbench.models.finetune", "results/finetune/ft-mini/job.json"]


def test_inference_settings(config):
    from claimbench.models.generation import GenerationSettings
    from claimbench.models.loading import LoadSettings, model_kwargs

    kwargs = model_kwargs(LoadSettings(**config["predict"]["load"]))
    q = kwargs["quantization_config"]
    assert q.load_in_4bit and q.bnb_4bit_quant_type == "nf4" and q.bnb_4bit_compute_dtype == torch.bfloat16
    assert kwargs["dtype"] == torch.bfloat16 and kwargs["attn_implementation"] == "flash_attention_2"
    generation = GenerationSettings(**config["predict"]["generation"])
    assert (generation.max_new_tokens, generation.repetition_penalty, generation.num_beams, generation.do_sample) == (
        512, 1.1, 1, False)
    assert config["predict"]["gpus"] == 4 and config["predict"]["n_test_cases"] is None
    assert config["predict"]["launch"] == {"accelerate_config": "config/accelerate/multi_gpu.yaml", "num_processes": 4}
    assert config["finetune"]["merge"]["dtype"] == "bfloat16"
