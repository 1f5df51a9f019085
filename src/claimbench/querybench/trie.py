"""Constrained decoding (beyond the paper): the model can only write a code that exists in the code system.

The answer is pre-filled up to the format's "Code: <code system>:" and every following token is restricted, at
each step, to tokens that keep the text (one optional leading space, then the code) a prefix of some valid code;
end-of-sequence is allowed only once the text is a complete code. Fabricated codes are therefore impossible by
construction. Tokens are matched by their decoded text, so any tokenizer works whatever way it splits codes
(SmolLM2 writes digits one by one; others merge them).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from transformers import LogitsProcessor

CODE_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.")


class CodeTrie:
    """The valid codes (display form, e.g. "E11.9") and every non-empty prefix of them."""

    def __init__(self, codes: Iterable[str]):
        self.codes = frozenset(c.strip().upper() for c in codes if c and c.strip())
        if not self.codes:
            raise ValueError("a code trie needs at least one code")
        bad = {c for c in self.codes if not set(c) <= CODE_ALPHABET}
        if bad:
            raise ValueError(f"codes with characters outside {''.join(sorted(CODE_ALPHABET))}: {sorted(bad)[:5]}")
        self.prefixes = frozenset(c[:i] for c in self.codes for i in range(1, len(c) + 1))

    def is_prefix(self, text: str) -> bool:
        return text in self.prefixes

    def is_code(self, text: str) -> bool:
        return text in self.codes


def token_texts(tokenizer) -> dict[int, str]:
    """Token id -> the exact text it adds when it follows other text, for tokens made only of code characters and
    at most one leading space. Decoded after an anchor token so a SentencePiece word-start marker shows as a space."""
    raw = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    allowed_raw = CODE_ALPHABET | {" ", "\u0120", "\u2581"}  # space as GPT-2 byte-level (Ġ) and SentencePiece (▁)
    special = set(tokenizer.all_special_ids)
    anchor = tokenizer.encode(":", add_special_tokens=False)
    base = tokenizer.decode(anchor)
    out = {}
    for token_id, piece in enumerate(raw):
        if token_id in special or not piece or not set(piece) <= allowed_raw:
            continue
        text = tokenizer.decode(anchor + [token_id])
        if not text.startswith(base):
            continue
        text = text[len(base) :]
        body = text[1:] if text.startswith(" ") else text
        if body and set(body) <= CODE_ALPHABET:
            out[token_id] = text
    return out


class TrieLogitsProcessor(LogitsProcessor):
    """Sets to -inf every token that would leave the trie. ``prompt_length`` is the (left-padded) input length:
    the tokens after it are the generated ones."""

    def __init__(self, trie: CodeTrie, tokens: dict[int, str], prompt_length: int, eos_token_ids: Iterable[int]):
        self.trie = trie
        self.tokens = tokens
        self.prompt_length = prompt_length
        self.eos = sorted(set(int(i) for i in eos_token_ids))
        if not self.eos:
            raise ValueError("constrained decoding needs an end-of-sequence token")
        # leading-space and plain variants, so a step only looks at the tokens that can apply
        self._first = [(i, t[1:] if t.startswith(" ") else t) for i, t in tokens.items()]
        self._inner = [(i, t) for i, t in tokens.items() if not t.startswith(" ")]

    def code_text(self, generated: list[int]) -> str | None:
        """The code written so far, or None when the sequence has ended (an EOS or any other token was emitted)."""
        parts = []
        for token_id in generated:
            if token_id not in self.tokens:
                return None
            parts.append(self.tokens[token_id])
        return "".join(parts).lstrip(" ")

    def allowed(self, generated: list[int]) -> list[int]:
        code = self.code_text(generated)
        if code is None:  # finished rows: generate() overwrites them with padding; keep their scores finite
            return self.eos
        candidates = self._first if not generated else self._inner
        ids = [i for i, piece in candidates if self.trie.is_prefix(code + piece)]
        if self.trie.is_code(code):
            ids.extend(self.eos)
        # Unreachable with a real vocabulary (every single character is a token); never leave a row all -inf.
        return ids or self.eos

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        mask = torch.full_like(scores, float("-inf"))
        for row, sequence in enumerate(input_ids.tolist()):
            mask[row, self.allowed(sequence[self.prompt_length :])] = 0.0
        return scores + mask
