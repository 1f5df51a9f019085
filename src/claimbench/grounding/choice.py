"""The final code among a description's top candidates: the nearest (embedding similarity), the one the note
supports best, or the model's choice.

The note's choice adds to each candidate's similarity to the description its best similarity to a line of the note
(the lines the no-LM reference reads, claimbench.grounding.reference): the description says what kind of finding or
operation it was, the note which of the close codes (the side, the site, the type) it documents.

The model's choice is a constrained one: in the place of each description line of its own answer, the model scores
each candidate's code description (the mean log-probability of its tokens, after the prompt and the answer's text up
to that line) and the likeliest wins, so the choice can only be one of the valid candidates. The answer is fed once,
line by line, on top of the prompt's cache; each candidate costs only its own tokens (the cache is cut back after it).
Which of the two a configuration uses is chosen on validation notes (``experiments/grounding_validation.py``).
"""

from __future__ import annotations


class NoteChooser:
    """``choose(system, description, candidates)`` for one note: description similarity + the note's support."""

    def __init__(self, resolvers, note: str):
        from claimbench.grounding.codeset_index import unit_rows
        from claimbench.grounding.reference import note_lines
        from claimbench.retrieval import embed

        self.resolvers = resolvers
        lines = note_lines(note)
        embedder = next(iter(resolvers.values())).embedder
        self.lines = unit_rows(embed(lines, embedder)) if lines else None

    def __call__(self, system: str, description: str, candidates: list):
        if self.lines is None or len(candidates) < 2:
            return candidates[0]
        codeset = self.resolvers[system].codeset
        vectors = codeset.vectors[[codeset.row_of(c.code, c.description) for c in candidates]]
        support = (vectors @ self.lines.T).max(axis=1)
        return candidates[max(range(len(candidates)), key=lambda i: (candidates[i].score + support[i], -i))]


class ModelChooser:
    """``choose(system, description, candidates)`` for one answer (claimbench.grounding.describe.ground_answer)."""

    def __init__(self, model, tokenizer, prompt: str, answer: str):
        import torch

        self.model, self.tokenizer, self.answer = model, tokenizer, answer
        self.torch = torch
        self.fed = 0  # characters of the answer already in the cache
        ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            out = model(input_ids=ids, use_cache=True)
        self.cache, self.length, self.last_logits = out.past_key_values, ids.shape[1], out.logits[0, -1]

    def _feed(self, text: str):
        """Advance the cache by ``text``; returns the logits of every fed position (and the one before)."""
        ids = self.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        if ids.shape[1] == 0:
            return self.last_logits[None], ids[0]
        with self.torch.no_grad():
            out = self.model(input_ids=ids, past_key_values=self.cache, use_cache=True)
        logits = self.torch.cat([self.last_logits[None], out.logits[0]])
        self.length += ids.shape[1]
        self.last_logits = out.logits[0, -1]
        return logits, ids[0]

    def _score(self, text: str) -> float:
        """Mean log-probability of ``text`` here; the cache is cut back afterwards."""
        length, last = self.length, self.last_logits
        logits, ids = self._feed(text)
        logp = self.torch.log_softmax(logits[:-1].float(), dim=-1)
        score = float(logp[self.torch.arange(len(ids)), ids].mean()) if len(ids) else float("-inf")
        self.cache.crop(length - self.length)  # a negative count: the tokens to remove (transformers 5)
        self.length, self.last_logits = length, last
        return score

    def __call__(self, system: str, description: str, candidates: list):
        start = self.answer.find(description, self.fed)
        if start < 0 or len(candidates) < 2:
            return candidates[0]
        if start > self.fed:
            self._feed(self.answer[self.fed:start])
        scores = [self._score(c.description) for c in candidates]
        self._feed(self.answer[start:start + len(description)])
        self.fed = start + len(description)
        return candidates[max(range(len(scores)), key=lambda i: (scores[i], -i))]
