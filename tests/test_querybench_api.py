"""The api configuration in the query benchmark: refused by default (nothing sent), and with a fake endpoint the
request carries the paper's prompt and the sweep's temperature."""

import io
import json

import pandas as pd

from claimbench.querybench.pipeline import run_api_query, score_run

QB = {"headline_temperature": 0.2, "sweep_codes": 1, "max_new_tokens": 50}


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
    meta = run_api_query({"enabled": False}, _samples(tmp_path), QB, 0.2, tmp_path / "r.jsonl", tmp_path / "r.meta.json",
                         opener=lambda *a, **k: sent.append(a))
    assert not sent and meta["run"] is False and "disabled" in meta["reason"]
    assert (tmp_path / "r.jsonl").read_text().strip() == ""
    summary = score_run(tmp_path / "r.jsonl", tmp_path / "r.meta.json", QB, {}, None, tmp_path / "s.parquet",
                        tmp_path / "s.csv")
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
    meta = run_api_query(settings, _samples(tmp_path), QB, 0.6, tmp_path / "r.jsonl", tmp_path / "r.meta.json",
                         opener=opener)
    assert meta["run"] is True and meta["n_prompts"] == 3 and meta["new_tokens"] == 21
    assert {r["temperature"] for r in requests} == {0.6} and {r["max_tokens"] for r in requests} == {50}
    assert requests[0]["messages"][0]["content"].startswith(
        "What is the most correct ICD-9-CM billing code for this description: Cholera due to vibrio cholerae.")
    frame = pd.read_json(tmp_path / "r.jsonl", lines=True, dtype={"code": str})
    assert list(frame["response"]) == ["Code: X: 001.0", "Code: X: A00.0", "Code: X: 66984"]
