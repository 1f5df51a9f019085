"""The api configuration in the query benchmark: refused by default (nothing sent), and with a fake endpoint the
request carries the paper's prompt and the sweep's temperature."""

import io
import json

import pandas as pd

from claimbench.querybench.pipeline import run_api, score_model

QB = {"models": [], "api": True, "temperatures": [0.2, 0.6], "headline_temperature": 0.2, "sweep_codes": 1,
      "icd10cm_fiscal_year": 2025,
      "max_new_tokens": 50}


def _samples(tmp_path):
    paths = {}
    for key, code, text in (("icd9cm", "001.0", "Cholera due to vibrio cholerae"),
                            ("icd10cm", "A00.0", "Cholera due to Vibrio cholerae 01, biovar cholerae"),
                            ("cpt", "66984", "Cataract removal")):
        paths[key] = tmp_path / f"{key}.parquet"
        pd.DataFrame({"system": [key], "item": [0], "code": [code], "description": [text]}).to_parquet(paths[key])
    return paths


def test_refused_by_default_sends_nothing(tmp_path):
    sent = []
    meta = run_api({"enabled": False}, _samples(tmp_path), QB, tmp_path / "r.jsonl", tmp_path / "r.meta.json",
                   opener=lambda *a, **k: sent.append(a))
    assert not sent and [r["run"] for r in meta["runs"]] == [False, False]
    assert "disabled" in meta["runs"][0]["reason"]
    summary = score_model(tmp_path / "r.jsonl", QB, {}, None, tmp_path / "s.parquet", tmp_path / "s.csv")
    assert summary.empty


def test_enabled_endpoint_gets_prompt_and_temperature(tmp_path):
    requests = []

    class Reply(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def opener(request, timeout):
        requests.append(json.loads(request.data))
        answer = {"icd9cm": "001.0", "icd10cm": "A00.0", "cpt": "66984"}
        content = requests[-1]["messages"][0]["content"]
        system = "icd9cm" if "ICD-9-CM" in content else "icd10cm" if "ICD-10-CM" in content else "cpt"
        payload = {"choices": [{"message": {"content": f"Code: X: {answer[system]}"}}],
                   "usage": {"prompt_tokens": 60, "completion_tokens": 7}}
        return Reply(json.dumps(payload).encode())

    settings = {"enabled": True, "endpoint": "http://localhost:1/v1", "model_name": "gpt-x"}
    meta = run_api(settings, _samples(tmp_path), QB, tmp_path / "r.jsonl", tmp_path / "r.meta.json", opener=opener)
    assert [r["run"] for r in meta["runs"]] == [True, True] and meta["runs"][0]["new_tokens"] == 21
    assert [r["temperature"] for r in requests] == [0.2] * 3 + [0.6] * 3 and {r["max_tokens"] for r in requests} == {50}
    assert requests[0]["messages"][0]["content"].startswith(
        "What is the most correct ICD-9-CM billing code for this description: Cholera due to vibrio cholerae.")
    frame = pd.read_json(tmp_path / "r.jsonl", lines=True, dtype={"code": str})
    assert list(frame["response"][:3]) == ["Code: X: 001.0", "Code: X: A00.0", "Code: X: 66984"]
    summary = score_model(tmp_path / "r.jsonl", QB, {}, None, tmp_path / "s.parquet", tmp_path / "s.csv",
                          meteor=lambda ref, hyp: 1.0, bertscore=lambda c, r: [1.0] * len(c))
    exact = summary[(summary.metric == "exact_match") & (summary.temperature == 0.2)]
    assert list(exact["value"]) == [100.0, 100.0, 100.0] and exact["headline"].all()
