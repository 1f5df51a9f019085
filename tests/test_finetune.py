"""QLoRA fine-tuning on tiny models: masking, targets, the 4-bit train-mode guard, gradients against a dense
reference, determinism, saving, merging."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
import torch

import _finetune_tiny as tiny
from claimbench.claim import Claim
from claimbench.models.finetune import run_finetune
from claimbench.models.lora import build_lora_config, linear_target_modules, meta_model
from claimbench.models.quantization import (
    TrainModeGuard,
    TrainModeTrapError,
    build_bnb_config,
    four_bit_layers,
    load_4bit_for_training,
)
from claimbench.models.sft_data import IGNORE_INDEX, build_examples, fit_pair, tokenize_pair
from claimbench.models.sft_trainer import CompletionCollator, completion_loss, make_collator, target_positions
from claimbench.plan.finetune import deep_merge, settings_for
from claimbench.task import ClaimTask

QUANT32 = {"load_in_4bit": True, "quant_type": "nf4", "double_quant": True, "compute_dtype": "float32",
           "quant_storage": "uint8"}


@pytest.fixture(autouse=True)
def _threads():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_models")
    return {arch: tiny.save_model(arch, root / arch) for arch in tiny.ARCHITECTURES}


@pytest.fixture(scope="module")
def train_file(tmp_path_factory):
    return tiny.write_train(tmp_path_factory.mktemp("data") / "train.parquet", n=6)


# ------------------------------------------------------------------------------------------------ data and masking


def test_tokenize_pair_masks_every_prompt_token():
    tok = tiny.tokenizer()
    ex = tokenize_pair(tok, "Operative Report : carpal", "CPT 1 : 64721")
    prompt_ids = tok("Operative Report : carpal", add_special_tokens=False)["input_ids"]
    completion_ids = tok("CPT 1 : 64721", add_special_tokens=False)["input_ids"]
    assert (ex["n_prompt"], ex["n_completion"]) == (4, 4)
    assert ex["input_ids"] == prompt_ids + completion_ids
    assert ex["labels"] == [IGNORE_INDEX] * 4 + completion_ids


def test_collator_pads_labels_with_ignore_index():
    batch = CompletionCollator(pad_token_id=0)([
        {"input_ids": [5, 6, 7], "labels": [-100, 6, 7]},
        {"input_ids": [5, 6], "labels": [-100, 6]},
    ])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 6, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [-100, 6, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]


def test_target_positions_hand_computed():
    # targets at positions 3 and 4 -> their logits sit at positions 2 and 3
    assert target_positions(torch.tensor([[-100, -100, -100, 5, 6]])).tolist() == [2, 3]
    # batch: the union over rows
    assert target_positions(torch.tensor([[-100, -100, -100, 5, 6], [-100, 9, 9, -100, -100]])).tolist() == [0, 1, 2, 3]
    assert target_positions(torch.tensor([[-100, -100]])).tolist() == []
    # packed: the separator (-100) at each example's first token is never a target
    assert target_positions(torch.tensor([[-100, -100, 7, -100, -100, 8]])).tolist() == [1, 4]


@pytest.mark.parametrize("arch", ["llama", "gemma3"])
def test_completion_loss_equals_the_models_own_loss(models, arch):
    """Logits only at target positions (what the trainer does) leave the loss unchanged."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(models[arch], dtype=torch.float32)
    ids = torch.arange(10, 30).unsqueeze(0)
    labels = ids.clone()
    labels[:, :12] = IGNORE_INDEX
    with torch.no_grad():
        full = model(ids, labels=labels).loss
        ours = completion_loss(model, {"input_ids": ids, "labels": labels})
    torch.testing.assert_close(ours, full, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("arch", ["llama", "gemma3"])
def test_packed_examples_give_the_same_loss_as_separate_ones(models, arch):
    """Packing (DataCollatorWithFlattening): position ids restart per example and attention stays within it, so the
    packed loss equals the loss of the examples run one by one (summed over their targets)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(models[arch], dtype=torch.float32, attn_implementation="sdpa")
    examples = [{"input_ids": list(range(10, 22)), "labels": [-100] * 8 + list(range(18, 22))},
                {"input_ids": list(range(40, 49)), "labels": [-100] * 4 + list(range(44, 49))}]
    n_targets = 4 + 5
    with torch.no_grad():
        packed = completion_loss(model, make_collator(0, packing=True)(examples), n_targets)
        separate = sum(completion_loss(model, make_collator(0, packing=False)([e]), n_targets) for e in examples)
        unmasked = completion_loss(model, {"input_ids": torch.tensor([examples[0]["input_ids"] + examples[1]["input_ids"]]),
                                           "labels": torch.tensor([examples[0]["labels"] + examples[1]["labels"]])},
                                   n_targets)
    torch.testing.assert_close(packed, separate, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(unmasked, separate, atol=1e-3)  # without the reset, attention would cross examples


def test_long_notes_are_cut_never_the_claim():
    tok = tiny.tokenizer()
    rec = tiny.records(3)[2]  # the longest note
    pair = partial(ClaimTask().training_pair, rec, family="chat_template", tokenizer=tok, examples=None)
    full, cut = fit_pair(tok, rec["op_note"], pair, 10_000)
    assert not cut
    limit = len(full["input_ids"]) - 10
    short, cut = fit_pair(tok, rec["op_note"], pair, limit)
    assert cut and len(short["input_ids"]) <= limit
    # the completion (claim) is whole: same tokens and the same targets
    assert short["n_completion"] == full["n_completion"]
    assert short["input_ids"][-short["n_completion"]:] == full["input_ids"][-full["n_completion"]:]
    with pytest.raises(ValueError, match="max_seq_length"):
        fit_pair(tok, rec["op_note"], pair, full["n_completion"])


def test_build_examples_is_a_seeded_subset(tmp_path):
    import pandas as pd

    tok = tiny.tokenizer()
    frame = pd.DataFrame(tiny.records(6))
    a, summary = build_examples(frame, tok, "chat_template", 3, 10_000, seed=7)
    b, _ = build_examples(frame, tok, "chat_template", 3, 10_000, seed=7)
    c, _ = build_examples(frame, tok, "chat_template", 3, 10_000, seed=8)
    assert [e["encounter_id"] for e in a] == [e["encounter_id"] for e in b]
    assert [e["encounter_id"] for e in a] != [e["encounter_id"] for e in c]
    assert summary["n_examples"] == 3 and summary["n_train_records"] == 6
    assert summary["completion_tokens"] == sum(e["n_completion"] for e in a)


# ------------------------------------------------------------------------------------------------------ targets


@pytest.mark.parametrize(
    "arch, expected",
    [
        ("llama", ["down_proj", "gate_proj", "k_proj", "lm_head", "o_proj", "q_proj", "up_proj", "v_proj"]),
        ("gemma3", ["down_proj", "gate_proj", "k_proj", "lm_head", "o_proj", "q_proj", "up_proj", "v_proj"]),
        # the paper's list for Phi-3
        ("phi3", ["down_proj", "gate_up_proj", "lm_head", "o_proj", "qkv_proj"]),
    ],
)
def test_targets_are_all_linear_layers_plus_head(arch, expected):
    model = meta_model(tiny.config(arch, tiny.tokenizer(phi3=arch == "phi3")))
    assert linear_target_modules(model) == expected


def test_settings_per_configuration_override():
    section = {"data": {"max_examples": 48, "max_seq_length": 768}, "per_configuration": {"b": {"data": {"max_examples": 8}}}}
    assert settings_for(section, "a") == {"data": {"max_examples": 48, "max_seq_length": 768}}
    assert settings_for(section, "b") == {"data": {"max_examples": 8, "max_seq_length": 768}}


# ------------------------------------------------------------------------------------ 4-bit train-mode guard


def test_4bit_model_is_in_train_mode_with_guard(models):
    model, guard = load_4bit_for_training(models["llama"], QUANT32, dtype="float32")
    assert model.training and guard.attached
    layers = four_bit_layers(model)
    assert layers and all(layer.training for _, layer in layers)
    model(torch.arange(4, 12).unsqueeze(0))  # train mode: allowed


def test_guard_refuses_an_eval_forward(models):
    model, guard = load_4bit_for_training(models["llama"], QUANT32, dtype="float32")
    model.eval()
    with pytest.raises(TrainModeTrapError, match="eval mode"), torch.no_grad():
        model(torch.arange(4, 12).unsqueeze(0))
    guard.detach()
    with torch.no_grad():
        model(torch.arange(4, 12).unsqueeze(0))  # detached: inference is allowed again


def test_guard_refuses_an_already_repacked_model(models):
    """A model an eval forward already repacked (AVX512-BF16 CPUs) cannot be guarded into training."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(models["llama"], quantization_config=build_bnb_config(QUANT32),
                                                 dtype=torch.float32)
    name, layer = four_bit_layers(model)[0]
    layer.weight.quant_state.packing_format_for_cpu = True  # what bitsandbytes sets when it repacks
    with pytest.raises(TrainModeTrapError, match="repacked"):
        TrainModeGuard(model)


# ------------------------------------------------------------------------------------------ gradients vs dense


def _lora_grads(model, targets, lora_state=None):
    from peft import get_peft_model

    config = build_lora_config({"r": 8, "alpha": 16, "dropout": 0.0}, targets)
    config.init_lora_weights = False  # random A and B: both get non-zero gradients at step 0
    torch.manual_seed(3)
    peft_model = get_peft_model(model, config)
    named = {n: p for n, p in peft_model.named_parameters() if p.requires_grad}
    if lora_state is not None:
        with torch.no_grad():
            for n, p in named.items():
                p.copy_(lora_state[n])
    ids = torch.arange(5, 29).unsqueeze(0)
    labels = ids.clone()
    labels[:, :10] = IGNORE_INDEX
    peft_model(ids, labels=labels).loss.backward()
    return {n: p.detach().clone() for n, p in named.items()}, {n: p.grad.detach().clone() for n, p in named.items()}


@pytest.mark.parametrize("arch", ["llama", "phi3"])
def test_qlora_gradients_match_a_dense_reference(models, arch):
    """LoRA gradients through NF4 layers equal those of a dense model holding the dequantized weights."""
    import bitsandbytes.functional as F
    from transformers import AutoModelForCausalLM

    qmodel, _guard = load_4bit_for_training(models[arch], QUANT32, dtype="float32")
    dense = AutoModelForCausalLM.from_pretrained(models[arch], dtype=torch.float32)
    dense.train()
    with torch.no_grad():
        for name, layer in four_bit_layers(qmodel):
            dense.get_submodule(name).weight.copy_(F.dequantize_4bit(layer.weight.data, layer.weight.quant_state))
    targets = linear_target_modules(dense)
    weights, q_grads = _lora_grads(qmodel, targets)
    _, d_grads = _lora_grads(dense, targets, lora_state=weights)
    assert q_grads.keys() == d_grads.keys() and len(q_grads) == 2 * (len(targets) - 1) * 2 + 2
    for name in q_grads:
        assert q_grads[name].abs().sum() > 0, f"zero gradient for {name}"
        torch.testing.assert_close(q_grads[name], d_grads[name], rtol=1e-4, atol=1e-6, msg=name)


def test_qlora_gradients_bf16_compute_close_to_dense(models):
    """The paper's bf16 compute: same gradients up to bf16 rounding."""
    import bitsandbytes.functional as F
    from transformers import AutoModelForCausalLM

    qmodel, _guard = load_4bit_for_training(models["llama"], {**QUANT32, "compute_dtype": "bfloat16"},
                                            dtype="float32")
    dense = AutoModelForCausalLM.from_pretrained(models["llama"], dtype=torch.float32)
    dense.train()
    with torch.no_grad():
        for name, layer in four_bit_layers(qmodel):
            dense.get_submodule(name).weight.copy_(F.dequantize_4bit(layer.weight.data, layer.weight.quant_state))
    targets = linear_target_modules(dense)
    weights, q_grads = _lora_grads(qmodel, targets)
    _, d_grads = _lora_grads(dense, targets, lora_state=weights)
    for name in q_grads:
        rel = (q_grads[name] - d_grads[name]).norm() / d_grads[name].norm()
        assert 0 < q_grads[name].norm() and rel < 0.05, (name, float(rel))


# --------------------------------------------------------------------------------- training, saving, merging


def _job(model_dir, train_file, out, settings, seed=11):
    return {
        "configuration": "ft-test", "model": "tiny", "model_dir": str(model_dir), "train": str(train_file),
        "adapter_dir": str(out / "adapter"), "stats": str(out / "train_stats.json"), "settings": settings,
        "seed": seed, "threads": 1,
    }


def _lora_count(arch, r):
    """Hand arithmetic: r * (in + out) per targeted linear layer, 2 layers, hidden 64, intermediate 128."""
    h, i, kv, vocab = 64, 128, 2 * 16, len(tiny.tokenizer(phi3=arch == "phi3"))
    if arch == "phi3":  # qkv fused: out = 64 + 2 * (2 kv heads * 16); gate_up fused: out = 2 * 128
        per_layer = (h + (h + 2 * kv)) + (h + h) + (h + 2 * i) + (i + h)
    else:
        per_layer = (h + h) + 2 * (h + kv) + (h + h) + 2 * (h + i) + (i + h)
    return r * (2 * per_layer + (h + vocab))


@pytest.mark.parametrize("arch", tiny.ARCHITECTURES)
def test_train_save_merge(models, train_file, tmp_path, arch):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    settings = tiny.default_settings(max_examples=4)
    stats = run_finetune(_job(models[arch], train_file, tmp_path, settings))
    written = json.loads((tmp_path / "train_stats.json").read_text())
    for key in ("wall_seconds", "trainable_params", "total_params", "trainable_share", "steps", "train_tokens",
                "final_loss", "tokens_per_second", "settings", "trainable_params_paper_convention"):
        assert written[key] is not None, key
    assert written["steps"] == 2 and written["train_tokens"] > 0
    assert written["trainable_params"] == _lora_count(arch, settings["lora"]["r"])
    assert written["total_params"] == sum(
        p.numel() for p in AutoModelForCausalLM.from_pretrained(models[arch]).parameters())
    assert written["trainable_share"] == pytest.approx(written["trainable_params"] / written["total_params"])
    assert written["prompt_family"] == ("phi3" if arch == "phi3" else "chat_template")
    assert stats["final_loss"] == written["final_loss"]

    adapter = tmp_path / "adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["lora_dropout"]) == (64, 16, 0.1)
    assert "lm_head" in config["target_modules"]
    from safetensors.torch import load_file

    saved = load_file(adapter / "adapter_model.safetensors")
    assert all("lora_" in key for key in saved)  # adapter only: no copy of the frozen head / embeddings

    from claimbench.models.merge import merge_adapter

    merge_stats = merge_adapter(models[arch], adapter, tmp_path / "merged", dtype="float32", threads=1)
    assert merge_stats["untied_output_head"] == (arch != "phi3")
    assert merge_stats["probe_max_abs_logit_diff"] < 1e-4
    # the saved merged model equals base + adapter, and the input embeddings are untouched
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged", dtype=torch.float32)
    base = AutoModelForCausalLM.from_pretrained(models[arch], dtype=torch.float32)
    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(models[arch], dtype=torch.float32),
                                             adapter)
    ids = torch.arange(4, 24).unsqueeze(0)
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, with_adapter(ids).logits, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(merged.get_input_embeddings().weight, base.get_input_embeddings().weight)
    assert (tmp_path / "merged" / "tokenizer_config.json").exists()


def test_training_is_deterministic(models, train_file, tmp_path):
    from safetensors.torch import load_file

    settings = tiny.default_settings(max_examples=3)
    runs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        run_finetune(_job(models["llama"], train_file, tmp_path / name, settings, seed=seed))
        runs[name] = load_file(tmp_path / name / "adapter" / "adapter_model.safetensors")
    assert runs["a"].keys() == runs["b"].keys()
    assert all(torch.equal(runs["a"][k], runs["b"][k]) for k in runs["a"])
    assert not all(torch.equal(runs["a"][k], runs["c"][k]) for k in runs["a"])


def test_default_settings_are_the_papers():
    import yaml

    from pathlib import Path

    section = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())["finetune"]
    lora = build_lora_config(section["lora"], ["q_proj"])
    assert (lora.r, lora.lora_alpha, lora.lora_dropout) == (64, 16, 0.1)
    bnb = build_bnb_config(section["quantization"])
    assert bnb.load_in_4bit and bnb.bnb_4bit_quant_type == "nf4" and bnb.bnb_4bit_use_double_quant
    assert section["training"]["learning_rate"] == 2e-4 and section["training"]["max_grad_norm"] == 0.3
    # No learning rate set by hand per model: the candidates are chosen between on the validation split, QLoRA's first
    assert "learning_rate" not in (section["per_configuration"].get("ft-mini") or {}).get("training", {})
    assert section["selection"]["learning_rates"][0] == 2e-4 and section["selection"]["n_validation"] > 0
    assert deep_merge(section, {"lora": {"r": 8}})["lora"] == {**section["lora"], "r": 8}


def test_accelerate_launch_runs_the_same_job(models, train_file, tmp_path, monkeypatch):
    """The multi-GPU path (`accelerate launch -m claimbench.models.finetune JOB.json`), here with one CPU process:
    the job file round-trips and the launched run writes the same outputs as the in-process one."""
    from pathlib import Path

    from claimbench.models.launch import accelerate_command, run_logged

    src = Path(__file__).resolve().parents[1] / "src"
    monkeypatch.setenv("PYTHONPATH", str(src))
    cpu = tmp_path / "cpu.yaml"
    cpu.write_text("compute_environment: LOCAL_MACHINE\ndistributed_type: 'NO'\nuse_cpu: true\nnum_processes: 1\n"
                   "num_machines: 1\nmachine_rank: 0\nmixed_precision: 'no'\n")
    job = _job(models["llama"], train_file, tmp_path / "launched", tiny.default_settings(max_examples=2))
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(job))
    log = tmp_path / "launch.log"
    run_logged(accelerate_command({"accelerate_config": str(cpu), "num_processes": 1}, "claimbench.models.finetune",
                                  [job_file]), log)
    stats = json.loads((tmp_path / "launched" / "train_stats.json").read_text())
    assert stats["steps"] == 2 and stats["world_size"] == 1
    assert (tmp_path / "launched" / "adapter" / "adapter_model.safetensors").exists()
    assert "accelerate.commands.launch" in log.read_text().splitlines()[0]


def test_hyperparameters_are_chosen_on_the_validation_split(models, train_file, tmp_path):
    """Learning-rate probes from one initial adapter, early stopping on the validation loss, all on record."""
    validation = tiny.write_train(tmp_path / "validation.parquet", n=4)
    settings = tiny.default_settings(max_examples=6)
    settings["training"]["max_steps"] = 6
    settings["selection"] = {"n_validation": 3, "learning_rates": [1e-5, 1e-2], "probe_steps": 2, "eval_steps": 2,
                             "patience": 1}
    job = {**_job(models["llama"], train_file, tmp_path, settings), "validation": str(validation)}
    stats = run_finetune(job)
    record = stats["selection"]
    probes = record["learning_rate_probe"]["probes"]
    assert [p["learning_rate"] for p in probes] == [1e-5, 1e-2]
    best = min(probes, key=lambda p: p["validation_loss"])
    assert record["learning_rate_probe"]["chosen"] == record["learning_rate"] == best["learning_rate"]
    curve = record["early_stopping"]["curve"]
    assert [c["step"] for c in curve][:1] == [2] and record["n_validation"] == 3
    # the full run resumes from the winning probe: its measurement at the probe's last step is the probe's
    assert curve[0]["validation_loss"] == best["validation_loss"]
    assert record["learning_rate_probe"]["resumed_from_step"] == 2 and stats["steps"] == 6
    assert record["early_stopping"]["best_validation_loss"] == min(c["validation_loss"] for c in curve)
    assert json.loads((tmp_path / "train_stats.json").read_text())["selection"] == json.loads(json.dumps(record))
    assert not (tmp_path / "trainer").exists()  # the probes' checkpoints are removed


def test_a_run_shorter_than_its_probes_trains_afresh_at_the_chosen_rate(models, train_file, tmp_path):
    validation = tiny.write_train(tmp_path / "validation.parquet", n=4)
    settings = tiny.default_settings(max_examples=6)
    settings["training"]["max_steps"] = 1
    settings["selection"] = {"n_validation": 2, "learning_rates": [1e-5, 1e-2], "probe_steps": 3, "eval_steps": None}
    stats = run_finetune({**_job(models["llama"], train_file, tmp_path, settings), "validation": str(validation)})
    assert stats["steps"] == 1 and stats["selection"]["learning_rate_probe"]["resumed_from_step"] is None
    assert stats["selection"]["learning_rate"] == stats["selection"]["learning_rate_probe"]["chosen"]


@pytest.mark.parametrize("scheduler", ["constant", "linear"])
def test_resuming_from_the_winning_probe_equals_training_afresh(models, train_file, tmp_path, scheduler):
    """The probe at the chosen rate is the full run's first steps (same start, seed, data order, schedule, dropout
    draws), so resuming from its checkpoint gives the adapter and validation curve of a run that trains every step
    at that rate from the start."""
    from safetensors.torch import load_file

    validation = tiny.write_train(tmp_path / "validation.parquet", n=4)

    def run(rates, out):
        settings = tiny.default_settings(max_examples=6)
        settings["lora"]["dropout"] = 0.1  # dropout draws random numbers: the RNG state must carry over too
        settings["training"].update(max_steps=6, lr_scheduler=scheduler, learning_rate=1e-2)  # 1 rate: no probes
        settings["selection"] = {"n_validation": 3, "learning_rates": rates, "probe_steps": 2, "eval_steps": 2,
                                 "patience": None}
        out.mkdir()
        return run_finetune({**_job(models["llama"], train_file, out, settings), "validation": str(validation)})

    probed = run([1e-5, 1e-2], tmp_path / "probed")
    afresh = run([1e-2], tmp_path / "afresh")
    assert probed["selection"]["learning_rate"] == afresh["selection"]["learning_rate"] == 1e-2
    assert "learning_rate_probe" not in afresh["selection"]
    curves = [[c["validation_loss"] for c in s["selection"]["early_stopping"]["curve"]] for s in (probed, afresh)]
    assert curves[0] == pytest.approx(curves[1], rel=1e-5)
    assert probed["train_tokens"] == afresh["train_tokens"]
    weights = [load_file(tmp_path / name / "adapter" / "adapter_model.safetensors") for name in ("probed", "afresh")]
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        torch.testing.assert_close(weights[0][key], weights[1][key], rtol=1e-5, atol=1e-6)


def test_rag_prompt_training_shows_the_neighbours_claims():
    import pandas as pd

    from claimbench.prompts import training_pair

    tok = tiny.tokenizer()
    frame = tiny.records(3)
    shown = {r["encounter_id"]: [f"ICD-10-CM Diagnoses:\n\nZ0{i}.0"] for i, r in enumerate(frame)}
    rag, _ = build_examples(pd.DataFrame(frame), tok, "chat_template", None, 10_000, seed=1,
                            task=ClaimTask("rag"), example_claims=shown)
    plain, _ = build_examples(pd.DataFrame(frame), tok, "chat_template", None, 10_000, seed=1)
    by_id = {r["encounter_id"]: r for r in frame}
    for example, paper in zip(rag, plain):
        rec = by_id[example["encounter_id"]]
        expected = tokenize_pair(tok, *training_pair(rec["op_note"], Claim.from_record(rec), "chat_template", tok,
                                                     kind="rag", examples=shown[rec["encounter_id"]]))
        assert example["input_ids"] == expected["input_ids"]
        assert example["n_prompt"] > paper["n_prompt"] and example["n_completion"] == paper["n_completion"]


def test_fine_tuning_jobs_with_the_larger_token_budget_start_first():
    import yaml

    from claimbench.plan.finetune import deep_merge, settings_for
    from claimbench.plan.scheduling import finetune_priority

    root = Path(__file__).resolve().parents[1]
    section = deep_merge(yaml.safe_load((root / "config.yaml").read_text()),
                         yaml.safe_load((root / "profiles/study/extras.yaml").read_text()))["finetune"]
    priority = {name: finetune_priority(settings_for(section, name)) for name in ("ft-mini", "ft-mini+lexicon")}
    assert priority["ft-mini+lexicon"] > priority["ft-mini"] >= 10  # 120 x 1024 tokens against 48 x 768
    assert finetune_priority({"data": {"max_examples": None, "max_seq_length": 768}}) == 19  # the whole split
    assert finetune_priority({}) == 19 and finetune_priority({"data": {"max_examples": 1}}) == 10
