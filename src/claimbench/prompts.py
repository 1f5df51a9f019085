"""The paper's prompts (paper 000, Methods: Fine-tuning, Inference), rendered from src/claimbench/data/prompts.yaml.

Two families:
- ``"phi3"``: the paper's literal layout with Phi-3's special tokens (``<s><|system|> ... <|placeholder1|> ...``).
  Tokenize these strings with ``add_special_tokens=False``: ``<s>`` is already in the text.
- ``"chat_template"``: the same system text and user turn (without segment tokens) through the tokenizer's own chat
  template, with the generation prompt; the completion is the claim without segment tokens.

Prompt kinds: ``"base"`` (format instruction without descriptions), ``"rag"`` (example claims + format instruction),
``"finetuned"`` (what the fine-tuned models see at inference; its training prompt comes from ``training_pair``).
Beyond the paper, ``"rag_lexicon"``: the RAG prompt plus the code hints of the training split's lexicon
(claimbench.lexicon); its ``examples`` are the example claims followed by the hint block as the last item.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from claimbench.claim import PHI3_SEGMENT_TOKENS, Claim, render_claim

HINTS_KIND = "rag_lexicon"  # beyond the paper: the RAG prompt with the code hints (claimbench.lexicon)
KINDS = ("base", "rag", "finetuned", HINTS_KIND)
EXAMPLE_KINDS = ("rag", HINTS_KIND)  # prompt kinds that show example claims
TRAINING_KINDS = ("finetuned", *EXAMPLE_KINDS)  # prompt kinds a configuration can be fine-tuned on
FAMILIES = ("phi3", "chat_template")


@lru_cache(maxsize=1)
def templates() -> dict:
    """The template data (prompts.yaml)."""
    text = resources.files("claimbench").joinpath("data/prompts.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _as_claim_text(example: Claim | str) -> str:
    return example if isinstance(example, str) else render_claim(example)


def examples_block(examples: list[Claim | str]) -> str:
    """The RAG example block: header, then "Relevant Example Claim i:" and each example claim's text."""
    t = templates()["examples"]
    items = [t["item"].format(number=i, claim=_as_claim_text(ex)) for i, ex in enumerate(examples, start=1)]
    return t["separator"].join([t["header"], *items])


def user_turn(kind: str, op_note: str, examples: list[Claim | str] | None = None, seg: str = "") -> str:
    """The user turn of a prompt kind; ``seg`` is the segment token (Phi-3's <|placeholder1|>) or empty."""
    if kind not in KINDS:
        raise ValueError(f"unknown prompt kind {kind!r}; expected one of {KINDS}")
    t = templates()
    claims, hints = list(examples or ()), ""
    if kind == HINTS_KIND:
        if not claims:
            raise ValueError("the rag_lexicon prompt needs the example claims followed by the hint block")
        claims, hints = claims[:-1], claims[-1]
    if kind in EXAMPLE_KINDS and not claims:
        raise ValueError(f"the {kind} prompt needs at least one example claim")
    return t["user"][kind].format(
        question=t["question"],
        seg=seg,
        op_note=op_note,
        examples=examples_block(claims) if kind in EXAMPLE_KINDS else "",
        hints=hints,
        format_rag=t["format_rag"],
        format_base=t["format_base"],
    )


def messages(kind: str, op_note: str, examples: list[Claim | str] | None = None) -> list[dict]:
    """System + user messages (no segment tokens): for chat templates and for OpenAI-compatible chat endpoints."""
    return [
        {"role": "system", "content": templates()["system"]},
        {"role": "user", "content": user_turn(kind, op_note, examples).strip()},
    ]


def _check_family(family: str, tokenizer) -> None:
    if family not in FAMILIES:
        raise ValueError(f"unknown prompt family {family!r}; expected one of {FAMILIES}")
    if family == "chat_template" and tokenizer is None:
        raise ValueError("the chat_template family needs the model's tokenizer")


def _chat(tokenizer, msgs: list[dict], add_generation_prompt: bool) -> str:
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=add_generation_prompt)
    # A tokenizer without a chat template (a base model): same content, plain layout.
    text = templates()["plain"]["prompt"].format(
        bos=tokenizer.bos_token or "", system=msgs[0]["content"], user=msgs[1]["content"]
    )
    if len(msgs) > 2:
        text += msgs[2]["content"] + (tokenizer.eos_token or "")
    return text


def build_prompt(
    kind: str,
    op_note: str,
    examples: list[Claim | str] | None = None,
    family: str = "phi3",
    tokenizer=None,
) -> str:
    """The prompt text for one operative note. ``examples`` (claims or their text) only for the kinds that show
    them (``EXAMPLE_KINDS``; for ``rag_lexicon`` the hint block is the last item)."""
    _check_family(family, tokenizer)
    t = templates()
    if family == "phi3":
        user = user_turn(kind, op_note, examples, seg=t["phi3"]["seg"])
        return t["phi3"]["rag" if kind == HINTS_KIND else kind].format(system=t["system"], user=user)
    return _chat(tokenizer, messages(kind, op_note, examples), add_generation_prompt=True)


def training_pair(op_note: str, claim: Claim, family: str = "phi3", tokenizer=None, kind: str = "finetuned",
                  examples: list[Claim | str] | None = None) -> tuple[str, str]:
    """(prompt, completion) for supervised fine-tuning; the loss goes on the completion only.

    ``kind="finetuned"`` is the paper's training prompt. ``kind="rag"`` (beyond the paper: retrieval-augmented
    fine-tuning) trains on the RAG prompt with ``examples`` (the claims of the note's nearest *other* training notes),
    so the fine-tuned model sees at training what it sees at inference; ``kind="rag_lexicon"`` adds the code hints.

    phi3: the paper's training prompt (or Phi-3's RAG prompt); completion = render_claim with Phi-3's segment tokens +
    ``<|end|>``. chat_template: the conversation rendered with the claim as the assistant turn, split where the
    generation prompt ends, so the completion carries the template's own end-of-turn marker.
    """
    _check_family(family, tokenizer)
    if kind not in TRAINING_KINDS:
        raise ValueError(f"fine-tuning prompts are one of {TRAINING_KINDS}, not {kind!r}")
    t = templates()
    if family == "phi3":
        user = user_turn(kind, op_note, examples, seg=t["phi3"]["seg"])
        prompt = t["phi3"]["training" if kind == "finetuned" else "rag"].format(system=t["system"], user=user)
        return prompt, render_claim(claim, PHI3_SEGMENT_TOKENS) + t["phi3"]["completion_end"]
    return chat_pair(tokenizer, messages(kind, op_note, examples), render_claim(claim))


def chat_pair(tokenizer, msgs: list[dict], completion: str) -> tuple[str, str]:
    """(prompt, completion) of a conversation through the tokenizer's chat template: the conversation rendered with
    ``completion`` as the assistant turn, split where the generation prompt ends, so the completion carries the
    template's own end-of-turn marker. Shared by every task that fine-tunes on chat messages (paper 000, paper 002)."""
    prompt = _chat(tokenizer, msgs, add_generation_prompt=True)
    full = _chat(tokenizer, msgs + [{"role": "assistant", "content": completion}], add_generation_prompt=False)
    if not full.startswith(prompt):
        raise ValueError("the chat template does not render the prompt as a prefix of the full conversation")
    return prompt, full[len(prompt) :]


def prompt_sha256(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def detect_family(model_dir: str | Path, override: str | None = None) -> str:
    """``phi3`` for Phi-3 checkpoints (config.json model_type), else ``chat_template``; config may override."""
    if override:
        if override not in FAMILIES:
            raise ValueError(f"unknown prompt family {override!r}; expected one of {FAMILIES}")
        return override
    config = Path(model_dir) / "config.json"
    model_type = json.loads(config.read_text()).get("model_type") if config.exists() else None
    return "phi3" if model_type == "phi3" else "chat_template"
