"""Prediction files: case selection, resumable store (kill + truncated line), knn, api refusal, tiny-model runs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from claimbench.claim import Claim, render_claim
from claimbench.plan.layout import Layout
from claimbench.plan.predict import resolve
from claimbench.predict.api import ApiRefused, ChatClient, refusal_reason
from claimbench.data.split import select_cases
from claimbench.predict.run import example_claims, predict_api, predict_knn
from claimbench.predict.store import PredictionStore, partial_path

SRC = Path(__file__).resolve().parents[1] / "src"
TIMING = ("seconds", "batch_seconds", "batch_size")  # wall-clock facts of a run: the only fields that may differ


def record(i, note, icd, cpt, mods=()):
    return {
        "encounter_id": f"E{i:03d}", "surgery_date": "2021-03-04", "fiscal_year": 2021, "service": "General",
        "patient_age": 50, "patient_sex": "F", "op_note": note, "icd10": list(icd),
        "cpt_lines": [{"provider": "Dr. X", "cpt": cpt, "modifiers": list(mods), "description": "a procedure"}],
    }


NOTES = [
    "Laparoscopic cholecystectomy for cholelithiasis.",
    "Right knee arthroscopy with partial medial meniscectomy under general anesthesia.",
    "Cataract extraction with lens implant, left eye.",
    "Excision of a benign skin lesion of the trunk, 1.5 cm, with intermediate layered closure of the wound.",
    "Open inguinal hernia repair.",
    "Carpal tunnel release, right wrist, through a small palmar incision; the patient tolerated it well.",
]
TEST = pd.DataFrame([record(i, n, ["K80.20"], "47562") for i, n in enumerate(NOTES)])
TRAIN = pd.DataFrame([
    record(100, "Gallbladder removed laparoscopically.", ["K80.20"], "47562"),
    record(101, "Knee scope with meniscus trim.", ["M23.211"], "29881", ["RT"]),
])


def strip_timing(path):
    lines = [json.loads(line) for line in Path(path).read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in lines]


def test_select_cases_seeded_subset_in_test_order():
    big = pd.DataFrame({"encounter_id": [f"E{i}" for i in range(50)], "op_note": ["n"] * 50})
    a, b = select_cases(big, 10, seed=3), select_cases(big, 10, seed=3)
    assert a["encounter_id"].tolist() == b["encounter_id"].tolist()
    positions = [int(e[1:]) for e in a["encounter_id"]]
    assert len(positions) == 10 and positions == sorted(positions)
    assert select_cases(big, 10, seed=4)["encounter_id"].tolist() != a["encounter_id"].tolist()
    assert len(select_cases(big, None, seed=3)) == 50 and len(select_cases(big, 80, seed=3)) == 50


def test_store_drops_a_truncated_line_and_never_duplicates(tmp_path):
    out = tmp_path / "c.jsonl"
    part = partial_path(out, "k1")
    part.parent.mkdir(parents=True)
    good = [{"encounter_id": "E1", "prompt_sha256": "h1", "generated_text": "a"},
            {"encounter_id": "E2", "prompt_sha256": "h2", "generated_text": "b"}]
    part.write_text("".join(json.dumps(r) + "\n" for r in good) + '{"encounter_id": "E3", "generated_te')
    stale = partial_path(out, "old")
    stale.write_text(json.dumps({"encounter_id": "E9"}) + "\n")
    store = PredictionStore(out, "k1")
    assert not stale.exists()  # other settings: never resumed
    assert store.resumed == 2 and store.done("E1", "h1") and store.done("E2") and not store.done("E3")
    assert part.read_text().endswith("\n") and part.read_text().count("\n") == 2
    assert not store.done("E2", "changed-prompt")  # a changed prompt is redone
    store.append([{"encounter_id": "E3", "prompt_sha256": "h3", "generated_text": "c"},
                  {"encounter_id": "E2", "prompt_sha256": "changed-prompt", "generated_text": "b2"}])
    final = store.finalize(["E3", "E1", "E2"])
    assert [r["encounter_id"] for r in final] == ["E3", "E1", "E2"]
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["generated_text"] for r in lines] == ["c", "a", "b2"]
    assert not part.exists()
    with pytest.raises(RuntimeError):
        PredictionStore(tmp_path / "d.jsonl", "k").finalize(["E1"])


def test_resolve_configuration_settings():
    config = {
        "configurations": {"ft-mini": {"method": "qlora", "model": "smollm2", "prompt": "finetuned",
                                       "generation": {"max_new_tokens": 64}},
                           "rag": {"method": "rag", "model": "smollm2", "prompt": "rag"}},
        "models": {"smollm2": {"source": {}, "stands_in_for": "Phi-3-mini-128k-instruct"}},
        "predict": {"generation": {"max_new_tokens": 512, "repetition_penalty": 1.1, "batch_size": 8},
                    "load": {"device": "cpu"}},
        "retrieval": {"k": 2},
    }
    ft = resolve(config, "ft-mini")
    assert ft["generation"] == {"max_new_tokens": 64, "repetition_penalty": 1.1, "batch_size": 8}
    assert ft["stands_in_for"] == "Phi-3-mini-128k-instruct" and ft["model_label"] == "smollm2 + QLoRA (ft-mini, merged)"
    assert resolve(config, "rag")["k"] == 2


def test_knn_predicts_the_nearest_training_claim(tmp_path):
    examples = example_claims({"E000": ["E100", "E101"], "E001": ["E101", "E100"]}, TRAIN)
    cases = TEST.head(2)
    meta = predict_knn("knn", {"method": "knn"}, cases, len(TEST), tmp_path / "knn.jsonl", tmp_path / "knn.meta.json",
                       examples)
    lines = [json.loads(x) for x in (tmp_path / "knn.jsonl").read_text().splitlines()]
    assert [r["encounter_id"] for r in lines] == ["E000", "E001"]
    assert lines[1]["generated_text"] == render_claim(Claim.from_record(TRAIN.iloc[1].to_dict()))
    assert lines[1]["generated_text"].startswith("ICD-10-CM Diagnoses:\n\nM23.211")
    assert meta["run"] is True and meta["n_cases"] == 2 and meta["case_ids"] == ["E000", "E001"]


def test_api_refusal_logic_without_network(tmp_path):
    never = lambda *a, **k: pytest.fail("nothing may be sent")  # noqa: E731
    on = {"method": "api", "enabled": True, "endpoint": "http://127.0.0.1:9/v1", "model_name": "gpt-4o"}
    assert "disabled" in refusal_reason({"enabled": False, "endpoint": "http://x"}, "synthetic")
    assert "no endpoint" in refusal_reason({"enabled": True, "endpoint": None}, "synthetic")
    assert refusal_reason(on, "synthetic") is None
    assert "acknowledge_notes_leave_machine" in refusal_reason(on, "/data/extract.parquet")
    assert refusal_reason({**on, "acknowledge_notes_leave_machine": True}, "/data/extract.parquet") is None
    with pytest.raises(ApiRefused):
        ChatClient({**on, "enabled": False}, "synthetic", opener=never)

    # Off by default: an empty file and a meta saying why.
    meta = predict_api("api", {"method": "api", "enabled": False}, TEST, len(TEST), tmp_path / "api.jsonl",
                       tmp_path / "api.meta.json", "synthetic", opener=never)
    assert (tmp_path / "api.jsonl").read_text() == ""
    saved = json.loads((tmp_path / "api.meta.json").read_text())
    assert saved["run"] is False and "disabled" in saved["reason"] and saved == json.loads(json.dumps(meta))
    # Real data without the acknowledgement: refused too, nothing sent.
    meta = predict_api("api", on, TEST, len(TEST), tmp_path / "api.jsonl", tmp_path / "api.meta.json",
                       "/data/extract.parquet", opener=never)
    assert meta["run"] is False and "acknowledge_notes_leave_machine" in meta["reason"]


def test_api_sends_when_allowed(tmp_path):
    sent = []

    class Response:
        def __init__(self, body):
            self.body = body

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def read(self):
            return self.body

    def opener(request, timeout):
        sent.append(json.loads(request.data))
        reply = {"choices": [{"message": {"content": "ICD-10-CM Diagnoses:\n\nK80.20"}}],
                 "usage": {"prompt_tokens": 321, "completion_tokens": 9}}
        return Response(json.dumps(reply).encode())

    on = {"method": "api", "enabled": True, "endpoint": "http://127.0.0.1:9/v1", "model_name": "gpt-4o",
          "prompt": "base"}
    meta = predict_api("api", on, TEST.head(2), len(TEST), tmp_path / "api.jsonl", tmp_path / "api.meta.json",
                       "synthetic", opener=opener)
    assert len(sent) == 2 and sent[0]["temperature"] == 0 and sent[0]["messages"][0]["role"] == "system"
    assert "Provide the answer without descriptions" in sent[0]["messages"][1]["content"]
    assert meta["run"] is True and meta["n_new_tokens"] == 18 and meta["n_prompt_tokens"] == 642


# ----------------------------------------------------------------------------------- generation with a tiny model

RUNNER = """
import sys, torch, pandas as pd
torch.set_num_threads(1)
from claimbench.predict.run import predict_llm
cases = pd.read_parquet(sys.argv[1])
conf = {"method": "base", "model": "tiny", "prompt": "base",
        "generation": {"max_new_tokens": int(sys.argv[5]), "batch_size": int(sys.argv[6])}}
predict_llm("base", conf, cases, len(cases), sys.argv[2], sys.argv[3], sys.argv[4], progress=False)
"""


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    import torch

    from claimbench.models.tiny import build_tiny

    torch.set_num_threads(1)
    return build_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama", seed=11)


def run_predict(tmp_path, model, name, max_new=40, batch=2):
    tmp_path.mkdir(exist_ok=True)
    cases = tmp_path / "cases.parquet"
    if not cases.exists():
        TEST.to_parquet(cases)
    out, meta = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.meta.json"
    cmd = [sys.executable, "-c", RUNNER, str(cases), str(out), str(meta), str(model), str(max_new), str(batch)]
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    return cmd, env, out, meta


def test_killed_run_resumes_to_the_same_file(tmp_path, tiny_llama):
    # Uninterrupted reference run.
    cmd, env, ref_out, ref_meta = run_predict(tmp_path / "ref", tiny_llama, "base")
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    reference = strip_timing(ref_out)
    assert [r["encounter_id"] for r in reference] == TEST["encounter_id"].tolist()

    # A run killed (SIGKILL) once its first batch is on disk.
    work = tmp_path / "killed"
    cmd, env, out, meta = run_predict(work, tiny_llama, "base", batch=1)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial_dir = work / ".partial"
    deadline = time.time() + 120
    while time.time() < deadline:
        files = list(partial_dir.glob("base.*.jsonl")) if partial_dir.exists() else []
        if files and files[0].read_text().count("\n") >= 2:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "the run finished before it could be killed"
    partial = files[0]
    done_before = partial.read_text().count("\n")
    assert 2 <= done_before < len(TEST)
    # ...and as if the kill had cut a line short.
    with open(partial, "a") as handle:
        handle.write('{"encounter_id": "E005", "configuration": "base", "generated_te')

    # Rerun: continues, with another batch size, and ends with the reference file.
    cmd, env, out, meta = run_predict(work, tiny_llama, "base", batch=2)
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    assert strip_timing(out) == reference
    info = json.loads(meta.read_text())
    assert info["resumed_cases"] == done_before and info["n_cases"] == len(TEST)
    assert info["case_ids"] == TEST["encounter_id"].tolist() and not partial.exists()
    assert json.loads(ref_meta.read_text())["resumed_cases"] == 0


def test_summary_table_from_meta_files(tmp_path):
    from claimbench.predict.summary import paper_configurations, summarize

    (tmp_path / "base.meta.json").write_text(json.dumps({
        "configuration": "base", "method": "base", "model": "smollm2", "stands_in_for": "Phi-3-mini-128k-instruct",
        "run": True, "reason": None, "n_cases": 4, "n_test_total": 600, "n_new_tokens": 1000, "wall_seconds": 50.0,
        "tokens_per_second": 20.0, "seconds_per_case": 12.5, "prompt": "base", "n_hit_max_new_tokens": 1,
        "generation": {"max_new_tokens": 512, "batch_size": 8}}))
    (tmp_path / "api.meta.json").write_text(json.dumps({
        "configuration": "api", "method": "api", "model": "gpt-4o", "run": False, "reason": "disabled", "n_cases": 0}))
    table = summarize({"base": tmp_path / "base.meta.json", "api": tmp_path / "api.meta.json"},
                      {"api": {"stands_in_for": "GPT-4o", "prompt": "base"}})
    base, api = table.iloc[0], table.iloc[1]
    assert base.mean_new_tokens == 250.0 and base.max_new_tokens == 512 and base.run
    assert not api.run and api.reason == "disabled" and api.stands_in_for == "GPT-4o" and api.prompt == "base"
    paper = paper_configurations().set_index("configuration")
    assert paper.loc["ft-medium", "paper_model"] == "Phi-3-medium-128k-instruct"
    assert set(paper.index) == {"base", "rag", "knn", "ft-mini", "ft-medium", "api"}


def test_launch_settings_data_parallel_default():
    from claimbench.plan.predict import launch_settings

    assert launch_settings({"gpus": 0}) == {}
    assert launch_settings({"gpus": 1}) == {}
    assert launch_settings({"gpus": 4}) == {"accelerate_config": "config/accelerate/multi_gpu.yaml",
                                            "num_processes": 4}
    own = {"accelerate_config": "my.yaml", "num_processes": 2}
    assert launch_settings({"gpus": 4, "launch": own}) == own


def test_data_parallel_shards_give_the_single_process_file(tmp_path, tiny_llama, monkeypatch):
    """Two worker processes (run here one after the other in place of accelerate launch) write their shards; the
    parent's final file equals a single-process run."""
    import torch

    import claimbench.models.launch as launch_module
    from claimbench.predict.run import generate_cases, predict_llm

    torch.set_num_threads(1)
    base = {"method": "base", "model": "tiny", "prompt": "base", "generation": {"max_new_tokens": 12, "batch_size": 2}}
    predict_llm("base", base, TEST, len(TEST), tmp_path / "one" / "base.jsonl", tmp_path / "one" / "base.meta.json",
                tiny_llama, progress=False)

    accelerate_yaml = tmp_path / "multi_gpu.yaml"
    accelerate_yaml.write_text("distributed_type: MULTI_GPU\n")
    commands = []

    def fake_launch(cmd, log_path=None):
        commands.append(cmd)
        job = json.loads(Path(cmd[-1]).read_text())
        cases = pd.read_parquet(job["cases"])
        for rank in (1, 0):
            store, _ = generate_cases(job["name"], job["conf"], cases, job["out"], job["model_dir"], job["examples"],
                                      shard=rank, n_shards=2, progress=False)
            store.close()

    monkeypatch.setattr(launch_module, "run_logged", fake_launch)
    parallel = {**base, "launch": {"accelerate_config": str(accelerate_yaml), "num_processes": 2}}
    meta = predict_llm("base", parallel, TEST, len(TEST), tmp_path / "dp" / "base.jsonl",
                       tmp_path / "dp" / "base.meta.json", tiny_llama, progress=False)
    cmd = commands[0]
    assert cmd[cmd.index("--num_processes") + 1] == "2" and cmd[-3:-1] == ["-m", "claimbench.predict.worker"]
    assert strip_timing(tmp_path / "dp" / "base.jsonl") == strip_timing(tmp_path / "one" / "base.jsonl")
    assert meta["n_cases"] == len(TEST) and meta["data_parallel_processes"] == 2
    assert not list((tmp_path / "dp" / ".partial").glob("*.jsonl"))


GRAMMAR_CONFIG = {
    "configurations": {
        "ft-mini": {"method": "qlora", "model": "smollm2", "prompt": "finetuned"},
        "ft-mini+grammar": {"method": "qlora", "model": "smollm2", "prompt": "finetuned", "finetuned_from": "ft-mini",
                            "constrained": "claim_grammar"},
        "rag+grammar": {"method": "rag", "model": "smollm2", "prompt": "rag", "constrained": "claim_grammar"},
    },
    "models": {"smollm2": {"source": {}, "stands_in_for": "Phi-3-mini-128k-instruct"}},
    "predict": {"generation": {"max_new_tokens": 512}, "grammar": {"max_lines": 4}},
    "codesets": {"cpt_catalog": None},
    "seed": 1,
}


def test_constrained_and_finetuned_from_settings():
    from claimbench.plan.configurations import finetuned_names
    from claimbench.plan.finetune import finetuned_models
    from claimbench.plan.predict import predict_inputs, predict_model_dir

    conf = resolve(GRAMMAR_CONFIG, "ft-mini+grammar")
    assert conf["model_label"] == "smollm2 + QLoRA (ft-mini, merged) + claim grammar"
    assert conf["grammar"] == {"max_lines": 4} and conf["codesets"] == {"cpt_catalog": None}
    assert "codesets" not in resolve(GRAMMAR_CONFIG, "ft-mini")  # unconstrained settings are unchanged
    assert predict_model_dir(GRAMMAR_CONFIG, "ft-mini+grammar", None, Layout("R")) == "R/finetune/ft-mini/merged"
    assert predict_inputs(GRAMMAR_CONFIG, "ft-mini+grammar", None, Layout("R"))["model"] == "R/finetune/ft-mini/merged"
    # ft-mini+grammar reuses ft-mini's training: only ft-mini is trained and has training statistics.
    assert finetuned_names(GRAMMAR_CONFIG) == ["ft-mini"] and finetuned_models(GRAMMAR_CONFIG) == {"ft-mini": "smollm2"}
    bad = json.loads(json.dumps(GRAMMAR_CONFIG))
    bad["configurations"]["ft-mini+grammar"]["finetuned_from"] = "rag+grammar"
    with pytest.raises(ValueError, match="itself fine-tuned"):
        predict_model_dir(bad, "ft-mini+grammar", None)
    bad["configurations"]["ft-mini+grammar"].update(finetuned_from="ft-mini", model="gemma3-270m")
    with pytest.raises(ValueError, match="trained from"):
        resolve(bad, "ft-mini+grammar")


def test_finetuned_from_without_a_model_predicts_with_its_sources():
    from claimbench.plan.predict import model_of

    # e.g. the paper profile points ft-mini at Phi-3-mini: ft-mini+grammar follows without naming the model again
    config = json.loads(json.dumps(GRAMMAR_CONFIG))
    del config["configurations"]["ft-mini+grammar"]["model"]
    config["models"]["phi3-mini"] = {"source": {}, "stands_in_for": "Phi-3-mini-128k-instruct"}
    config["configurations"]["ft-mini"]["model"] = "phi3-mini"
    assert model_of(config, "ft-mini+grammar") == "phi3-mini" and model_of(config, "rag+grammar") == "smollm2"
    conf = resolve(config, "ft-mini+grammar")
    assert conf["model"] == "phi3-mini" and conf["model_label"].startswith("phi3-mini + QLoRA (ft-mini, merged)")
    assert "model" not in config["configurations"]["ft-mini+grammar"]  # resolve works on a copy


def test_constrained_extras_are_labelled_and_train_nothing():
    import jsonschema
    import yaml

    from claimbench.plan.finetune import deep_merge, finetuned_models

    root = SRC.parent
    schema = yaml.safe_load((root / "config" / "schema.yaml").read_text())
    default = yaml.safe_load((root / "config.yaml").read_text())
    config = default
    for overlay in ("overrides.yaml", "extras.yaml"):  # profiles/study with its extras, as its overrides file says
        config = deep_merge(config, yaml.safe_load((root / "profiles" / "study" / overlay).read_text()))
    for each in (default, config):
        jsonschema.validate(each, schema)
    # the default runs no language model under the grammar (docs/decisions.md); profiles/study/extras.yaml does
    assert not {n for n, c in default["configurations"].items() if c.get("constrained")}
    extras = {n for n, c in config["configurations"].items() if c.get("constrained")}
    assert extras == {"rag+grammar", "ft-mini+grammar", "ft-mini+lexicon+grammar"}
    assert not extras & set(config["evaluation"]["paper_columns"])  # no paper column: labelled beyond the paper
    assert not extras & set(finetuned_models(config))  # they predict with another configuration's model
    for name in ("base", "rag", "ft-mini", "ft-medium"):  # the paper's rows decode as the paper did
        assert not config["configurations"][name].get("constrained")
    bad = json.loads(json.dumps(config))
    bad["configurations"]["knn"]["constrained"] = "claim_grammar"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_constrained_run_key_and_meta(tmp_path, tiny_llama):
    from claimbench.evaluation.parse import parse_claim
    from claimbench.evaluation.validity import ReferenceSets
    from claimbench.predict.run import _llm_key, predict_llm

    base = {"method": "base", "model": "tiny", "prompt": "base", "generation": {"max_new_tokens": 180, "batch_size": 3}}
    constrained = {**base, "constrained": "claim_grammar", "codesets": {},
                   "grammar": {"max_icd10": 3, "max_providers": 1, "max_lines": 2, "max_name_chars": 12,
                               "max_description_chars": 12}}
    # Unconstrained keys (and so resumable partial files) are those of before; a constrained run has its own.
    assert _llm_key("x", base, tiny_llama) == _llm_key("x", {**base, "constrained": None}, tiny_llama)
    assert _llm_key("x", base, tiny_llama) != _llm_key("x", constrained, tiny_llama)
    with pytest.raises(ValueError, match="constrained is 'json'"):
        _llm_key("x", {**base, "constrained": "json"}, tiny_llama)
    cases = TEST.head(3)
    meta = predict_llm("g", constrained, cases, len(TEST), tmp_path / "g.jsonl", tmp_path / "g.meta.json",
                       tiny_llama, progress=False)
    assert meta["constrained"] == "claim_grammar" and meta["grammar_limits"]["max_lines"] == 2
    assert [b["fiscal_year"] for b in meta["grammar_builds"]] == [2021]  # one fiscal year among the cases
    refs = ReferenceSets()
    for line in (tmp_path / "g.jsonl").read_text().splitlines():
        claim = parse_claim(json.loads(line)["generated_text"])
        assert claim.icd10 and claim.cpt_lines and set(claim.icd10) <= refs.icd10cm(2021)


def test_knn_lexicon_and_rag_lexicon_read_the_code_hints_and_never_the_test_ones_for_tuning():
    from claimbench.plan.predict import decoding_inputs, predict_inputs

    config = {"configurations": {
        "knn": {"method": "knn"},
        "knn+lexicon": {"method": "knn", "icd10": "lexicon"},
        "ft-mini+lexicon": {"method": "qlora", "model": "smollm2", "prompt": "rag_lexicon",
                            "tune_decoding": {"repetition_penalty": [1.1, 1.0]}},
    }}
    assert "hints" not in predict_inputs(config, "knn", None, Layout("R"))
    assert predict_inputs(config, "knn+lexicon", None, Layout("R"))["hints"] == "R/retrieval/code_hints.parquet"
    assert predict_inputs(config, "ft-mini+lexicon", None, Layout("R"))["hints"] == "R/retrieval/code_hints.parquet"
    hints = decoding_inputs(config, "ft-mini+lexicon", None, Layout("R"))["hints"]
    assert hints == "R/retrieval/finetune_code_hints.parquet"


def test_long_generation_jobs_are_scheduled_before_short_ones():
    """Snakemake starts the ready job of highest priority: fine-tuning first, then the jobs that wait on it (merge,
    decoding choice, fine-tuned predictions), other language-model jobs, and the seconds-long ones last."""
    import yaml

    from claimbench.plan import scheduling
    from claimbench.plan.finetune import deep_merge

    root = Path(__file__).resolve().parents[1]
    config = deep_merge(yaml.safe_load((root / "config.yaml").read_text()),
                        yaml.safe_load((root / "profiles/study/extras.yaml").read_text()))
    priority = {name: scheduling.predict_priority(config, name) for name in config["configurations"]}
    assert priority["ft-mini+lexicon+grammar"] == priority["ft-mini"] > priority["rag"] == priority["base"]
    assert priority["rag"] > scheduling.OTHER_GENERATION > priority["knn"] == priority["api"] == 0
    assert scheduling.finetune_priority({"data": {"max_examples": 1}}) >= scheduling.MERGE > scheduling.TUNING
    assert scheduling.TUNING > priority["ft-mini"] and scheduling.START > scheduling.FINETUNE_HIGHEST
