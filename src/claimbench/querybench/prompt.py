"""The paper's query prompt, word for word (paper 003, "Prompt Development"), and how it is put to a model."""

from __future__ import annotations

from claimbench.querybench.systems import CodeSystem

# Quoted from the paper; <code system>, <description> and <sample code> are its placeholders.
PROMPT_TEMPLATE = (
    "What is the most correct {system} billing code for this description: {description}.\n"
    "\n"
    "Only generate a single, VALID {system} billing code. Do not explain. ALWAYS respond in the following format:\n"
    "\n"
    "Code: {system}: {sample_code}"
)


def query_prompt(system: CodeSystem, description: str) -> str:
    return PROMPT_TEMPLATE.format(system=system.name, description=description.strip(), sample_code=system.example_code)


def answer_prefix(system: CodeSystem) -> str:
    """What the constrained variant writes for the model before the code: the format's "Code: <code system>:"."""
    return f"Code: {system.name}:"


def model_input(tokenizer, prompt: str, prefill: str = "") -> str:
    """The text the model continues: the prompt as one user turn through the tokenizer's chat template when it has
    one (instruct models), else the bare prompt followed by a blank line (base models); then ``prefill``."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
        )
    else:
        text = prompt + "\n\n"
    return text + prefill
