"""Medical-comprehension retention (paper 002, Table 2): multiple-choice accuracy before and after fine-tuning.

The paper scores MedMCQA, MedQA, MMLU medical subsets and PubMedQA; their licences keep them out of this repository,
so the user points config at a QA file (JSONL, one question a line)::

    {"id": "q1", "question": "...", "options": {"A": "...", "B": "..."}, "answer": "B", "benchmark": "MedQA"}

``options`` may also be a list (lettered A, B, ... in order); ``benchmark`` is optional (default: the file's stem).
Each question is scored without generation: the fixed prompt (``prompts.yaml`` paper002.retention), then each option's
answer continuation (" A", " B", ...); the option whose continuation has the highest log-likelihood is the model's
answer (ties go to the earlier option). Deterministic: no sampling, model in eval mode.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from claimbench.prompts import templates

NOT_RUN = "not run: no QA file configured"


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    options: dict[str, str]  # letter -> option text, in the file's order
    answer: str
    benchmark: str


def retention_status(qa_file: str | Path | None) -> str:
    """``NOT_RUN`` when config names no QA file, else "ready"; a named file that does not exist is an error."""
    if qa_file is None or not str(qa_file).strip():
        return NOT_RUN
    if not Path(qa_file).is_file():
        raise FileNotFoundError(f"retention QA file {qa_file} (config) does not exist")
    return "ready"


def _field(path: Path, row: int, data: dict, name: str, kinds: tuple[type, ...]):
    if name not in data:
        raise ValueError(f"{path}: row {row}: field '{name}' is missing")
    value = data[name]
    if not isinstance(value, kinds) or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        expected = " or ".join(k.__name__ for k in kinds)
        raise ValueError(f"{path}: row {row}: field '{name}' must be a non-empty {expected}, got {value!r}")
    return value


def _options(path: Path, row: int, raw) -> dict[str, str]:
    if isinstance(raw, list):
        if len(raw) > len(string.ascii_uppercase):
            raise ValueError(f"{path}: row {row}: field 'options' has {len(raw)} options (at most 26)")
        raw = dict(zip(string.ascii_uppercase, raw))
    if not isinstance(raw, dict) or len(raw) < 2:
        raise ValueError(f"{path}: row {row}: field 'options' must be an object or list of at least 2 options")
    options = {}
    for letter, text in raw.items():
        if not (isinstance(letter, str) and len(letter) == 1 and letter.isalpha() and letter.isupper()):
            raise ValueError(f"{path}: row {row}: field 'options': key {letter!r} is not a capital letter")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{path}: row {row}: field 'options': option {letter} must be non-empty text")
        options[letter] = text
    return options


def load_questions(path: str | Path) -> list[Question]:
    """The questions of a QA file; a bad row raises ``ValueError`` naming the file, row (1-based line) and field."""
    path = Path(path)
    questions: list[Question] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for row, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: row {row}: not valid JSON ({exc.msg})") from None
            if not isinstance(data, dict):
                raise ValueError(f"{path}: row {row}: expected a JSON object, got {type(data).__name__}")
            qid = str(_field(path, row, data, "id", (str, int)))
            if qid in seen:
                raise ValueError(f"{path}: row {row}: field 'id': {qid!r} repeats row {seen[qid]}")
            seen[qid] = row
            question = _field(path, row, data, "question", (str,))
            options = _options(path, row, data.get("options"))
            answer = _field(path, row, data, "answer", (str,)).strip()
            if answer not in options:
                raise ValueError(f"{path}: row {row}: field 'answer': {answer!r} is not one of the options "
                                 f"{', '.join(options)}")
            benchmark = str(data.get("benchmark") or path.stem)
            questions.append(Question(qid, question, options, answer, benchmark))
    if not questions:
        raise ValueError(f"{path}: no questions")
    return questions


def prompt(question: Question) -> str:
    t = templates()["paper002"]["retention"]
    options = "\n".join(t["option"].format(letter=k, text=v) for k, v in question.options.items())
    return t["prompt"].format(question=question.question, options=options)


def option_logprobs(model, tokenizer, question: Question) -> dict[str, float]:
    """Log-likelihood of each option's answer continuation after the prompt (one batched forward per question).

    Prompt and continuation are tokenized separately and joined, so every option scores the same prompt tokens."""
    import torch

    answer = templates()["paper002"]["retention"]["answer"]
    prompt_ids = tokenizer(prompt(question), add_special_tokens=True)["input_ids"]
    conts = [tokenizer(answer.format(letter=k), add_special_tokens=False)["input_ids"] for k in question.options]
    width = len(prompt_ids) + max(len(c) for c in conts)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((len(conts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(conts), width), dtype=torch.long)
    for r, cont in enumerate(conts):  # right padding: positions of real tokens are the same in every row
        seq = prompt_ids + cont
        ids[r, : len(seq)] = torch.tensor(seq)
        mask[r, : len(seq)] = 1
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
    logp = torch.log_softmax(logits, dim=-1).cpu()
    scores = {}
    for r, (letter, cont) in enumerate(zip(question.options, conts)):
        # the token at position p is predicted by the logits at p - 1
        scores[letter] = float(sum(logp[r, len(prompt_ids) + j - 1, tok] for j, tok in enumerate(cont)))
    return scores


@dataclass(frozen=True)
class RetentionResult:
    rows: pd.DataFrame  # one row per question: id, benchmark, answer, predicted, correct, logprob_<letter>...

    @property
    def accuracy(self) -> float:
        return float(self.rows["correct"].mean())

    def by_benchmark(self) -> pd.Series:
        """Accuracy per benchmark (in first-seen order)."""
        order = list(dict.fromkeys(self.rows["benchmark"]))
        return self.rows.groupby("benchmark", sort=False)["correct"].mean().reindex(order)


def score(model, tokenizer, questions: list[Question]) -> RetentionResult:
    """Each question answered by the highest-likelihood option; ``model`` is put in eval mode. Score a model loaded
    for inference (``evaluate``), not one about to be trained: a 4-bit model's first no-grad forward repacks its
    weights and later training goes silently wrong (docs: DESIGN, models)."""
    model.eval()
    rows = []
    for q in questions:
        logps = option_logprobs(model, tokenizer, q)
        best = max(logps.values())
        predicted = next(k for k, v in logps.items() if v == best)  # the earliest option among ties
        rows.append({"id": q.id, "benchmark": q.benchmark, "answer": q.answer, "predicted": predicted,
                     "correct": predicted == q.answer, **{f"logprob_{k}": v for k, v in logps.items()}})
    return RetentionResult(pd.DataFrame(rows))


def evaluate(model_dir: str | Path, qa_file: str | Path, load_settings=None) -> RetentionResult:
    """Score the model saved in ``model_dir`` on ``qa_file`` (``generation.LoadSettings`` picks device/quantization)."""
    from claimbench.models.loading import LoadSettings, load_for_inference

    questions = load_questions(qa_file)
    model, tokenizer = load_for_inference(model_dir, load_settings or LoadSettings())
    return score(model, tokenizer, questions)


def retention_table(before: RetentionResult, after: RetentionResult) -> pd.DataFrame:
    """Paper Table 2's layout: benchmark, n, baseline, fine_tuned, diff (fine-tuned minus baseline); with more than
    one benchmark, an "Average" row first: the unweighted mean over benchmarks, as the paper's Average is."""
    ids_before, ids_after = list(before.rows["id"]), list(after.rows["id"])
    if sorted(ids_before) != sorted(ids_after):
        raise ValueError("retention_table: the two results scored different questions")
    base, tuned = before.by_benchmark(), after.by_benchmark().reindex(before.by_benchmark().index)
    counts = before.rows.groupby("benchmark", sort=False).size()
    table = pd.DataFrame({"benchmark": base.index, "n": [int(counts[b]) for b in base.index],
                          "baseline": base.values, "fine_tuned": tuned.values})
    if len(table) > 1:
        average = {"benchmark": "Average", "n": int(table["n"].sum()), "baseline": table["baseline"].mean(),
                   "fine_tuned": table["fine_tuned"].mean()}
        table = pd.concat([pd.DataFrame([average]), table], ignore_index=True)
    table["diff"] = table["fine_tuned"] - table["baseline"]
    return table
