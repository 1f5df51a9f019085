"""The prompts match paper 000's printed templates (Methods: Fine-tuning, Inference) word for word."""

import pytest

from claimbench.claim import Claim, CptLine, render_claim
from claimbench.prompts import build_prompt, detect_family, messages, prompt_sha256, templates, training_pair

# The paper's code blocks, verbatim (including its ~60-column wrapping); each ends with the newline before the fence.
PAPER_TRAINING = (
    "<s><|system|>\nYou are an expert on medical coding and procedural billing\nin the United States. Your task is to "
    "assist in creating an\nappropriate billing claim given the provided operative\nreport. Every claim should "
    "include ICD-10-CM codes, CPT\ncodes from the American Medical Association, and the\nmodifiers for each CPT "
    "code.<|end|>\n\n<|user|>\nWhat ICD-10-CM diagnosis codes, CPT codes, and CPT\nmodifiers could be added to the "
    "billing claim for the\nfollowing procedure?<|placeholder1|>\n\nOperative Report:\n{operative note text}"
    "<|placeholder1|><|end|>\n\n<|assistant|>\n<|placeholder2|>ICD-10-CM Diagnoses:\n\n{ICD-10-CM Codes}"
    "<|placeholder3|>\n\n<|placeholder4|>CPT Codes with Modifiers:\n\nProvider Name: {provider name}\nProvider "
    "Billables:\nCPT {#}: {CPT code} | Modifiers: {modifiers for CPT code #}\n| Description: {description of CPT "
    "code #}<|placeholder5|>\n"
)
PAPER_FINETUNED = (
    "<s><|system|>\nYou are an expert on medical coding and procedural billing\nin the United States. Your task is to "
    "assist in creating an\nappropriate billing claim given the provided operative\nreport. Every claim should "
    "include ICD-10-CM codes, CPT\ncodes from the American Medical Association, and the\nmodifiers for each CPT "
    "code.<|end|>\n\n<|user|>\nWhat ICD-10-CM diagnosis codes, CPT codes, and CPT\nmodifiers could be added to the "
    "billing claim for the\nfollowing procedure?<|placeholder1|>\n\nOperative Report:\n{operative note text}"
    "<|placeholder1|><|end|>\n\n<|assistant|>\n"
)
PAPER_RAG = (
    "<s><|system|>\nYou are an expert on medical coding and procedural billing\nin the United States. Your task is to "
    "assist in creating an\nappropriate billing claim given the provided operative\nreport. Every claim should "
    "include ICD-10-CM codes, CPT\ncodes from the American Medical Association, and the\nmodifiers for each CPT "
    "code.<|end|>\n<|user|>\nWhat ICD-10-CM diagnosis codes, CPT codes, and CPT\nmodifiers could be added to the "
    "billing claim for the\nfollowing procedure?<|placeholder1|>\n\nOperative Report:\n\n{operative note text}"
    "<|placeholder1|>\n\nThe following are examples from similar procedures:\n\nRelevant Example Claim 1:\n\n"
    "{example billing claim from similar OP Note}\n\nRelevant Example Claim 2:\n\n{example billing claim from "
    "similar OP Note}\n\nProvide the answer in the following format:\n\nICD-10-CM Diagnoses:\nXXX.XXX, XXX.XXX, "
    "...\n\nCPT Codes with Modifiers:\nCPT Code 1: ##### | Modifiers: XX, XX, ...\nCPT Code 2: ##### | Modifiers: "
    "XX, XX, ...\n<|end|>\n<|assistant|>\n"
)
PAPER_BASE = (
    "<s><|system|>\nYou are an expert on medical coding and procedural billing\nin the United States. Your task is to "
    "assist in creating an\nappropriate billing claim given the provided operative\nreport. Every claim should "
    "include ICD-10-CM codes, CPT\ncodes from the American Medical Association, and the\nmodifiers for each CPT "
    "code.<|end|>\n<|user|>\nWhat ICD-10-CM diagnosis codes, CPT codes, and CPT\nmodifiers could be added to the "
    "billing claim for the\nfollowing procedure?<|placeholder1|>\n\n{operative note text}<|placeholder1|>\n\n"
    "Provide the answer without descriptions in the following\nformat:\n\nICD-10-CM Diagnoses:\nXXX.XXX, XXX.XXX, "
    "...\n\nCPT Codes with Modifiers:\nCPT Code 1: ##### | Modifiers: XX, XX, ... | Description:\n...\nCPT Code 2: "
    "##### | Modifiers: XX, XX, ... | Description:\n...\n<|end|>\n"
)

# The line breaks that only the paper's column width made (see prompts.yaml); each becomes a space.
SOFT_WRAPS = [
    "billing\nin", "an\nappropriate", "operative\nreport.", "CPT\ncodes", "the\nmodifiers", "CPT\nmodifiers",
    "the\nfollowing", "following\nformat:", "Description:\n...", "code #}\n| Description",
]


def unwrap(text: str) -> str:
    for wrap in SOFT_WRAPS:
        text = text.replace(wrap, wrap.replace("\n", " "))
    return text


NOTE = "PREOPERATIVE DIAGNOSIS: Cataract, right eye.\nPROCEDURE: Phacoemulsification {with} IOL."
CLAIM = Claim(
    icd10=("H25.11", "E11.9"),
    cpt_lines=(
        CptLine("Dr. Ada Lovelace", "66984", ("RT",), "Cataract removal with lens implant"),
        CptLine("Dr. Ada Lovelace", "67028", ("RT", "59"), "Eye injection"),
        CptLine("Dr. Bob Assistant", "66984", ("80",), "Cataract removal with lens implant"),
    ),
)
EXAMPLES = [
    Claim(icd10=("K40.90",), cpt_lines=(CptLine("Dr. C", "49505", (), "Inguinal hernia repair"),)),
    Claim(icd10=("K80.20", "K81.1"), cpt_lines=(CptLine("Dr. D", "47562", ("22",), "Laparoscopic cholecystectomy"),)),
]


def test_phi3_training_pair_is_the_papers_template():
    prompt, completion = training_pair(NOTE, CLAIM, family="phi3")
    one_line = Claim(icd10=("H25.11",), cpt_lines=(CptLine("Dr. A", "66984", ("RT",), "Cataract removal"),))
    prompt1, completion1 = training_pair(NOTE, one_line, family="phi3")
    expected = (
        unwrap(PAPER_TRAINING)
        .replace("{operative note text}", NOTE)
        .replace("{ICD-10-CM Codes}", "H25.11")
        .replace("{provider name}", "Dr. A")
        .replace("{#}", "1")
        .replace("{CPT code}", "66984")
        .replace("{modifiers for CPT code #}", "RT")
        .replace("{description of CPT code #}", "Cataract removal")
    )
    # The paper's block stops at <|placeholder5|>; we close the turn with <|end|> so the model learns to stop.
    assert prompt1 + completion1 == expected.removesuffix("\n") + "<|end|>"
    assert prompt == prompt1
    assert completion.startswith("<|placeholder2|>ICD-10-CM Diagnoses:\n\nH25.11, E11.9<|placeholder3|>\n\n")
    assert "CPT 2: 67028 | Modifiers: RT, 59 | Description: Eye injection\n\nProvider Name: Dr. Bob" in completion
    assert completion.endswith("CPT 1: 66984 | Modifiers: 80 | Description: Cataract removal with lens implant"
                               "<|placeholder5|><|end|>")


def test_phi3_finetuned_inference_prompt():
    # The paper prints <|placeholder2|> right after the block: the inference prompt opens the claim segment.
    expected = unwrap(PAPER_FINETUNED).replace("{operative note text}", NOTE) + "<|placeholder2|>"
    assert build_prompt("finetuned", NOTE, family="phi3") == expected
    prompt, completion = training_pair(NOTE, CLAIM, family="phi3")
    assert (prompt + completion).startswith(expected)


def test_phi3_rag_prompt_with_two_example_claims():
    expected = unwrap(PAPER_RAG).replace("{operative note text}", NOTE)
    for claim in EXAMPLES:
        expected = expected.replace("{example billing claim from similar OP Note}", render_claim(claim), 1)
    assert build_prompt("rag", NOTE, examples=EXAMPLES, family="phi3") == expected
    # Claim objects or their text give the same prompt.
    texts = [render_claim(c) for c in EXAMPLES]
    assert build_prompt("rag", NOTE, examples=texts, family="phi3") == expected


def test_phi3_base_prompt_literal():
    # Printed as a block ending on "<|end|>" (the final newline is the fence's); no <|assistant|> in the paper.
    expected = unwrap(PAPER_BASE).replace("{operative note text}", NOTE)
    assert build_prompt("base", NOTE, family="phi3") + "\n" == expected
    assert "Description: ...\nCPT Code 2: ##### | Modifiers: XX, XX, ... | Description: ...\n<|end|>" in expected


def test_system_and_question_text():
    t = templates()
    assert t["system"] == (
        "You are an expert on medical coding and procedural billing in the United States. Your task is to assist in "
        "creating an appropriate billing claim given the provided operative report. Every claim should include "
        "ICD-10-CM codes, CPT codes from the American Medical Association, and the modifiers for each CPT code."
    )
    assert t["question"] == (
        "What ICD-10-CM diagnosis codes, CPT codes, and CPT modifiers could be added to the billing claim for the "
        "following procedure?"
    )


class ChatMLTokenizer:
    """SmolLM2's chat template, as a stand-in tokenizer (apply_chat_template only)."""

    chat_template = "chatml"
    eos_token = "<|im_end|>"

    def apply_chat_template(self, msgs, tokenize=False, add_generation_prompt=False):
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in msgs)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def test_chat_template_family_same_content_without_segment_tokens():
    tok = ChatMLTokenizer()
    t = templates()
    prompt = build_prompt("finetuned", NOTE, family="chat_template", tokenizer=tok)
    assert prompt == (
        f"<|im_start|>system\n{t['system']}<|im_end|>\n<|im_start|>user\n{t['question']}\n\nOperative Report:\n"
        f"{NOTE}<|im_end|>\n<|im_start|>assistant\n"
    )
    rag = build_prompt("rag", NOTE, examples=EXAMPLES, family="chat_template", tokenizer=tok)
    assert "<|placeholder" not in rag
    assert f"Relevant Example Claim 2:\n\n{render_claim(EXAMPLES[1])}\n\nProvide the answer in the following" in rag
    assert rag.endswith("CPT Code 2: ##### | Modifiers: XX, XX, ...<|im_end|>\n<|im_start|>assistant\n")
    base = build_prompt("base", NOTE, family="chat_template", tokenizer=tok)
    assert f"procedure?\n\n{NOTE}\n\nProvide the answer without descriptions" in base


def test_chat_template_training_pair():
    tok = ChatMLTokenizer()
    prompt, completion = training_pair(NOTE, CLAIM, family="chat_template", tokenizer=tok)
    assert prompt == build_prompt("finetuned", NOTE, family="chat_template", tokenizer=tok)
    assert completion == render_claim(CLAIM) + "<|im_end|>\n"


@pytest.mark.parametrize("family", ["chat_template", "phi3"])
def test_retrieval_augmented_training_prompt_is_the_rag_inference_prompt(family):
    """Beyond the paper: retrieval-augmented fine-tuning trains on exactly the prompt it is run with (the RAG one)."""
    tok = ChatMLTokenizer() if family == "chat_template" else None
    prompt, completion = training_pair(NOTE, CLAIM, family=family, tokenizer=tok, kind="rag", examples=EXAMPLES)
    assert prompt == build_prompt("rag", NOTE, examples=EXAMPLES, family=family, tokenizer=tok)
    assert render_claim(EXAMPLES[1]) in prompt
    paper_prompt, paper_completion = training_pair(NOTE, CLAIM, family=family, tokenizer=tok)
    assert completion == paper_completion  # the same target claim
    with pytest.raises(ValueError, match="fine-tuning prompts"):
        training_pair(NOTE, CLAIM, family=family, tokenizer=tok, kind="base")


def test_real_smollm2_chat_template():
    """SmolLM2's own chat template (its tokenizer read from the packaged GGUF) renders what ChatML gives."""
    from claimbench.models.tiny import load_tokenizer

    tok = load_tokenizer()
    assert build_prompt("finetuned", NOTE, family="chat_template", tokenizer=tok) == build_prompt(
        "finetuned", NOTE, family="chat_template", tokenizer=ChatMLTokenizer()
    )
    prompt, completion = training_pair(NOTE, CLAIM, family="chat_template", tokenizer=tok)
    assert completion == render_claim(CLAIM) + "<|im_end|>\n"


class PlainTokenizer:
    """A base model's tokenizer without a chat template (Gemma-3-270M base)."""

    chat_template = None
    bos_token = "<bos>"
    eos_token = "<eos>"


def test_plain_layout_without_a_chat_template():
    t = templates()
    prompt, completion = training_pair(NOTE, CLAIM, family="chat_template", tokenizer=PlainTokenizer())
    assert prompt == f"<bos>{t['system']}\n\n{t['question']}\n\nOperative Report:\n{NOTE}\n\n"
    assert completion == render_claim(CLAIM) + "<eos>"
    assert build_prompt("finetuned", NOTE, family="chat_template", tokenizer=PlainTokenizer()) == prompt


def test_messages_for_api_and_errors(tmp_path):
    msgs = messages("rag", NOTE, EXAMPLES)
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "<|placeholder" not in msgs[1]["content"]
    with pytest.raises(ValueError):
        build_prompt("rag", NOTE, family="phi3")  # no examples
    with pytest.raises(ValueError):
        build_prompt("zero-shot", NOTE)
    with pytest.raises(ValueError):
        build_prompt("base", NOTE, family="chat_template")  # no tokenizer
    assert prompt_sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    (tmp_path / "config.json").write_text('{"model_type": "phi3"}')
    assert detect_family(tmp_path) == "phi3"
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    assert detect_family(tmp_path) == "chat_template"
    assert detect_family(tmp_path, override="phi3") == "phi3"
