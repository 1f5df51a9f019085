"""The constrained decoder can only emit codes that exist: checked on a tiny random model sampling at high
temperature (where an unconstrained one writes junk), with a tokenizer that merges characters in awkward ways."""

import pytest
import torch
from _querybench_tiny import tiny_model, tiny_tokenizer
from transformers import LogitsProcessorList

from claimbench.querybench.trie import CodeTrie, TrieLogitsProcessor, token_texts

CODES = ["E11.9", "E11.65", "I82.409", "I82.4", "27447", "A00.0"]  # I82.4 is a prefix of I82.409 on purpose


def test_trie_prefixes():
    trie = CodeTrie(CODES)
    assert trie.is_prefix("I82.40") and trie.is_code("I82.4") and not trie.is_code("I82.40")
    assert not trie.is_prefix("E12")
    with pytest.raises(ValueError):
        CodeTrie(["E11 9"])


def test_allowed_tokens_step_by_step():
    tokenizer = tiny_tokenizer()
    texts = token_texts(tokenizer)
    assert texts[tokenizer.convert_tokens_to_ids(" E1")] == " E1"
    assert tokenizer.convert_tokens_to_ids("9\n") not in texts and tokenizer.convert_tokens_to_ids("e11") not in texts
    eos = tokenizer.eos_token_id
    proc = TrieLogitsProcessor(CodeTrie(CODES), texts, prompt_length=0, eos_token_ids=[eos])
    ids = tokenizer.convert_tokens_to_ids
    first = {tokenizer.convert_ids_to_tokens(i) for i in proc.allowed([])}
    assert first == {"E", "I", "2", "A", " ", " E1", " I8", " 27"} - {" "}
    after_e1 = {tokenizer.convert_ids_to_tokens(i) for i in proc.allowed([ids(" E1")])}
    assert after_e1 == {"1"}  # "E1" + "11." = "E111." is no code prefix
    after_e = {tokenizer.convert_ids_to_tokens(i) for i in proc.allowed([ids("E")])}
    assert after_e == {"1", "11."}
    # "I82.4" is complete (EOS allowed) and a prefix of I82.409 (0 / 409 allowed)
    done = proc.allowed([ids(" I8"), ids("2"), ids("."), ids("4")])
    assert eos in done and ids("0") in done and ids("409") not in done
    assert proc.allowed([ids(" 27"), ids("447")]) == [eos]
    assert proc.allowed([ids(" 27"), ids("447"), eos]) == [eos]  # a finished row stays finite


@pytest.mark.parametrize("temperature", [1.0, 5.0])
def test_tiny_model_never_emits_an_invalid_code(temperature):
    torch.set_num_threads(1)
    tokenizer = tiny_tokenizer()
    model = tiny_model(len(tokenizer))
    trie = CodeTrie(CODES)
    prompts = ["Code: ICD:", "What? Code: X:", "a b c d e:"]
    tokenizer.padding_side = "left"
    batch = tokenizer(prompts, return_tensors="pt", padding=True)
    width = batch["input_ids"].shape[1]
    proc = TrieLogitsProcessor(trie, token_texts(tokenizer), width, [tokenizer.eos_token_id])
    seen = set()
    for seed in range(12):
        torch.manual_seed(seed)
        out = model.generate(
            **batch, logits_processor=LogitsProcessorList([proc]), do_sample=True, temperature=temperature,
            top_k=0, top_p=1.0, max_new_tokens=20, pad_token_id=0, eos_token_id=tokenizer.eos_token_id,
        )
        for row in out[:, width:]:
            text = tokenizer.decode(row, skip_special_tokens=True).strip()
            assert trie.is_code(text), text
            seen.add(text)
    assert len(seen) >= 3  # it samples among codes rather than collapsing to one


def test_unconstrained_tiny_model_does_write_junk():
    """The control: without the processor the same model writes things that are not codes."""
    tokenizer = tiny_tokenizer()
    model = tiny_model(len(tokenizer))
    batch = tokenizer(["Code: ICD:"], return_tensors="pt")
    torch.manual_seed(0)
    out = model.generate(**batch, do_sample=True, temperature=1.0, top_k=0, max_new_tokens=8, pad_token_id=0, eos_token_id=1)
    text = tokenizer.decode(out[0, batch["input_ids"].shape[1]:], skip_special_tokens=True).strip()
    assert not CodeTrie(CODES).is_code(text)
