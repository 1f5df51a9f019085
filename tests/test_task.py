"""The task object: paper 000's claim task per prompt kind, and tasks named by import path (paper 002's)."""

from __future__ import annotations

import pytest

from claimbench.claim import Claim
from claimbench.paper002.task import JSON_TASK, build_prompt
from claimbench.prompts import build_prompt as claim_prompt
from claimbench.task import ClaimTask, task_of

NOTE = "Laparoscopic cholecystectomy for symptomatic cholelithiasis."


def test_a_configuration_without_task_is_paper_000s_claim_task_in_its_prompt_kind():
    assert task_of({"prompt": "rag"}) == ClaimTask("rag")
    assert task_of({}, "base") == ClaimTask("base")
    assert ClaimTask("rag").shows_examples and not ClaimTask("finetuned").shows_examples


def test_a_task_named_by_import_path_is_that_object():
    assert task_of({"prompt": "paper002", "task": "claimbench.paper002.task:JSON_TASK"}) is JSON_TASK
    with pytest.raises(ValueError, match="module:attribute"):
        task_of({"task": "claimbench.paper002.task"})


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from claimbench.models.tiny import build_tiny

    return AutoTokenizer.from_pretrained(build_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama", seed=1))


def test_task_prompts_are_the_papers_prompts(tiny_tokenizer):
    examples = ["ICD-10-CM Diagnoses:\n\nK80.20"]
    task = ClaimTask("rag")
    assert task.prompt(NOTE, examples, "phi3", None) == claim_prompt("rag", NOTE, examples=examples, family="phi3")
    # a kind without examples ignores them, as the prediction code always did
    assert ClaimTask("base").prompt(NOTE, examples, "phi3", None) == claim_prompt("base", NOTE, family="phi3")
    assert JSON_TASK.prompt(NOTE, None, "phi3", tiny_tokenizer) == build_prompt(NOTE, tiny_tokenizer)


def test_claim_task_parses_its_own_training_completion():
    record = {"op_note": NOTE, "icd10": ["K80.20"], "cpt_lines": [{"provider": "Surgeon", "cpt": "47562"}]}
    prompt, completion = ClaimTask("finetuned").training_pair(record, NOTE, "phi3", None, None)
    assert NOTE in prompt
    parsed = ClaimTask().parse(completion)
    assert parsed.icd10 == Claim.from_record(record).icd10 and parsed.cpt_codes == ("47562",)
