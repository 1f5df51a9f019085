"""Medical-comprehension retention (paper 002 Table 2): QA file validation, log-likelihood scoring (known answers from
a model with fixed logits, and the batched scores against a plain forward pass of a tiny model), the before/after table,
the "not run" status, and the paper's cited values."""

import json
import math
from importlib.resources import files
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from claimbench.paper002 import retention
from claimbench.paper002.retention import NOT_RUN, RetentionResult, load_questions, retention_status, retention_table

torch = pytest.importorskip("torch")

QA = Path(__file__).with_name("data") / "retention_qa.jsonl"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from claimbench.models.loading import load_for_inference
    from claimbench.models.tiny import build_tiny

    torch.set_num_threads(1)
    folder = build_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama", seed=3)
    model, tokenizer = load_for_inference(folder)
    return folder, model, tokenizer


class FixedLogits(torch.nn.Module):
    """A language model whose next-token logits are the same at every position: ``bonus`` on one token, 0 elsewhere."""

    def __init__(self, vocab_size: int, token: int, bonus: float):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.zeros(vocab_size), requires_grad=False)
        self.logits.data[token] = bonus

    def forward(self, input_ids, attention_mask=None):
        return SimpleNamespace(logits=self.logits.expand(*input_ids.shape, -1))


# ------------------------------------------------------------------------------------------------- the QA file


def test_fixture_file_loads_with_letters_for_list_options_and_benchmarks():
    questions = load_questions(QA)
    assert [q.id for q in questions] == ["anat-1", "anat-2", "anat-3", "clin-1", "clin-2", "clin-3"]
    assert questions[2].options == {"A": "Cecum", "B": "Sigmoid colon", "C": "Duodenum", "D": "Rectum"}
    assert questions[5].options == {"A": "yes", "B": "no"} and questions[5].answer == "A"
    assert {q.benchmark for q in questions} == {"Fixture anatomy", "Fixture clinical"}
    prompt = retention.prompt(questions[0])
    assert prompt.endswith("Question: Which organ stores bile between meals?\nA. Liver\nB. Gallbladder\n"
                           "C. Pancreas\nD. Spleen\nAnswer:")


ROW = {"id": "q1", "question": "Which?", "options": {"A": "x", "B": "y"}, "answer": "B"}


@pytest.mark.parametrize("rows, message", [
    (["{not json"], r"row 1: not valid JSON"),
    (["[1, 2]"], r"row 1: expected a JSON object, got list"),
    ([{**ROW, "id": None}], r"row 1: field 'id' must be a non-empty str or int"),
    ([{k: v for k, v in ROW.items() if k != "question"}], r"row 1: field 'question' is missing"),
    ([{**ROW, "question": "  "}], r"row 1: field 'question' must be a non-empty str"),
    ([{**ROW, "options": {"A": "x"}}], r"row 1: field 'options' must be an object or list of at least 2"),
    ([{**ROW, "options": "A, B"}], r"row 1: field 'options' must be"),
    ([{**ROW, "options": {"a": "x", "b": "y"}}], r"row 1: field 'options': key 'a' is not a capital letter"),
    ([{**ROW, "options": ["x", ""]}], r"row 1: field 'options': option B must be non-empty text"),
    ([{**ROW, "answer": "C"}], r"row 1: field 'answer': 'C' is not one of the options A, B"),
    ([{**ROW, "answer": 1}], r"row 1: field 'answer' must be a non-empty str"),
    ([ROW, "", {**ROW}], r"row 3: field 'id': 'q1' repeats row 1"),
    ([], r"no questions"),
])
def test_bad_qa_files_name_file_row_and_field(tmp_path, rows, message):
    path = tmp_path / "qa.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    with pytest.raises(ValueError, match=message) as err:
        load_questions(path)
    assert str(path) in str(err.value)


def test_status_without_a_configured_file_is_not_run(tmp_path):
    assert retention_status(None) == NOT_RUN == "not run: no QA file configured"
    assert retention_status("") == NOT_RUN
    assert retention_status(QA) == "ready"
    with pytest.raises(FileNotFoundError, match="missing.jsonl"):
        retention_status(tmp_path / "missing.jsonl")


# ------------------------------------------------------------------------------------------------------ scoring


def test_known_answer_with_fixed_logits(tiny):
    _, _, tokenizer = tiny
    b = tokenizer(" B", add_special_tokens=False)["input_ids"]
    assert len(b) == 1  # " B" is one token of SmolLM2's vocabulary
    vocab = len(tokenizer)
    model = FixedLogits(vocab, b[0], bonus=5.0)
    questions = load_questions(QA)
    logps = retention.option_logprobs(model, tokenizer, questions[0])
    # by hand: log softmax of one logit 5 among vocab - 1 zeros
    denominator = math.log(math.exp(5.0) + vocab - 1)
    assert logps["B"] == pytest.approx(5.0 - denominator, abs=1e-4)
    assert logps["A"] == logps["C"] == logps["D"] == pytest.approx(-denominator, abs=1e-4)
    result = retention.score(model, tokenizer, questions)
    assert list(result.rows["predicted"]) == ["B"] * 6
    # answers A B A B C A: B is right for anat-1 and clin-1 only
    assert list(result.rows["correct"]) == [True, False, False, True, False, False]
    assert result.accuracy == pytest.approx(2 / 6)
    assert list(result.by_benchmark()) == pytest.approx([1 / 3, 1 / 3])


def test_ties_go_to_the_earlier_option(tiny):
    _, _, tokenizer = tiny
    model = FixedLogits(len(tokenizer), 0, bonus=0.0)  # every option equally likely
    result = retention.score(model, tokenizer, load_questions(QA))
    assert list(result.rows["predicted"]) == ["A"] * 6
    assert result.accuracy == pytest.approx(3 / 6)  # answers A B A B C A


def test_batched_scores_equal_a_plain_forward_pass_even_for_multi_token_answers(tiny, monkeypatch):
    _, model, tokenizer = tiny
    question = load_questions(QA)[1]
    texts = retention.templates()["paper002"]["retention"]
    # a longer answer continuation, so rows of different lengths are padded in the batch
    patched = {"paper002": {"retention": {**texts, "answer": " The answer is ({letter})."}}}
    monkeypatch.setattr(retention, "templates", lambda: patched)
    logps = retention.option_logprobs(model, tokenizer, question)
    prompt_ids = tokenizer(retention.prompt(question))["input_ids"]
    for letter in question.options:
        cont = tokenizer(f" The answer is ({letter}).", add_special_tokens=False)["input_ids"]
        assert len(cont) > 1
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([prompt_ids + cont])).logits[0].float()
        by_hand = sum(torch.log_softmax(logits[len(prompt_ids) + j - 1], -1)[tok].item() for j, tok in enumerate(cont))
        assert logps[letter] == pytest.approx(by_hand, abs=1e-4)


def test_evaluate_a_saved_model_is_deterministic(tiny):
    folder, model, tokenizer = tiny
    first = retention.evaluate(folder, QA)
    again = retention.score(model, tokenizer, load_questions(QA))
    pd.testing.assert_frame_equal(first.rows, again.rows)
    assert len(first.rows) == 6 and first.accuracy == first.rows["correct"].mean()
    logps = first.rows[[f"logprob_{k}" for k in "AB"]].to_numpy()
    assert (logps < 0).all() and (logps > -1e4).all()
    assert (first.rows["predicted"] == first.rows.filter(like="logprob_").idxmax(axis=1).str[-1]).all()


# ------------------------------------------------------------------------------------------------------- table


def _result(rows: list[tuple[str, str, bool]]) -> RetentionResult:
    return RetentionResult(pd.DataFrame([{"id": i, "benchmark": b, "correct": c} for i, b, c in rows]))


def test_retention_table_known_answer():
    before = _result([("1", "X", True), ("2", "X", False), ("3", "Y", True)])
    after = _result([("1", "X", True), ("2", "X", True), ("3", "Y", False)])
    table = retention_table(before, after)
    assert list(table["benchmark"]) == ["Average", "X", "Y"]
    assert list(table["n"]) == [3, 2, 1]
    # X: 1/2 -> 2/2; Y: 1 -> 0; Average: unweighted mean over benchmarks, (0.5 + 1) / 2 -> (1 + 0) / 2
    assert list(table["baseline"]) == pytest.approx([0.75, 0.5, 1.0])
    assert list(table["fine_tuned"]) == pytest.approx([0.5, 1.0, 0.0])
    assert list(table["diff"]) == pytest.approx([-0.25, 0.5, -1.0])
    single = retention_table(_result([("1", "X", False)]), _result([("1", "X", True)]))
    assert single.to_dict("records") == [{"benchmark": "X", "n": 1, "baseline": 0.0, "fine_tuned": 1.0, "diff": 1.0}]
    with pytest.raises(ValueError, match="different questions"):
        retention_table(before, _result([("1", "X", True)]))


def test_cited_table_2_values():
    cited = pd.read_csv(files("claimbench.data") / "paper002_retention.csv", comment="#").set_index("benchmark")
    assert len(cited) == 10 and cited.loc["MedQA (acc)", "fine_tuned"] == 0.7133
    assert cited.loc["Average", "baseline"] == 0.8286 and cited.loc["Average", "fine_tuned"] == 0.7994
    benchmarks = cited.drop(index="Average")
    # the printed Average is the unweighted mean of the nine benchmarks, and each Diff is Fine-tuned - Baseline
    assert benchmarks["baseline"].mean() == pytest.approx(0.8286, abs=5e-5)
    assert benchmarks["fine_tuned"].mean() == pytest.approx(0.7994, abs=5e-5)
    assert (cited["fine_tuned"] - cited["baseline"]).to_numpy() == pytest.approx(cited["diff"].to_numpy(), abs=1e-4)
