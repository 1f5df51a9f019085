"""Paper 002's stage glue: the fixed 95/5 split, augmentation on training only, the stage's settings, the JSON task's
training pairs and prompts, and the evaluation of prediction files (known answers by hand)."""

import json

import pandas as pd
import pytest

from claimbench.paper002 import data as p2data
from claimbench.plan import paper002 as plan
from claimbench.paper002.evaluate import evaluate, read_generated, training_frequency
from claimbench.paper002.report import levels_display, outputs_display, verdict
from claimbench.paper002.schema import gold_claim, parse, render


def chart(i: int, codes=("K80.20", "E11.9"), fiscal_year=2024) -> dict:
    note = f"OPERATIVE NOTE {i}\nDiagnosis: cholelithiasis.\nHistory: type 2 diabetes.\nProcedure: cholecystectomy.\n"
    evidence = [{"code": codes[0], "line": 1, "text": "cholelithiasis"},
                {"code": codes[1], "line": 2, "text": "type 2 diabetes"}][: len(codes)]
    return {"encounter_id": f"E{i:03d}", "surgery_date": "2024-03-01", "fiscal_year": fiscal_year,
            "service": "General Surgery", "patient_age": 50, "patient_sex": "F", "op_note": note,
            "icd10": list(codes), "icd10_evidence": evidence,
            "cpt_lines": [{"provider": "Doe, Jane MD", "cpt": "47562", "modifiers": [], "description": "Lap chole",
                           "rationale": "laparoscopic cholecystectomy performed"}]}


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame([chart(i) for i in range(n)])


def test_evaluation_side_is_fixed_per_chart_whatever_else_the_extract_holds():
    small, large = frame(200), frame(400)
    side = {e: p2data.in_evaluation(e, 0.05, 7) for e in large.encounter_id}
    parts_small = p2data.split_charts(small, 0.05, 6, seed=7)
    parts_large = p2data.split_charts(large, 0.05, 6, seed=7)
    # every chart of the smaller extract is on the same side in the larger one
    assert set(parts_small["evaluation"].encounter_id) == {e for e in small.encounter_id if side[e]}
    assert set(parts_small["evaluation"].encounter_id) <= set(parts_large["evaluation"].encounter_id)
    # ~5% (binomial: 400 charts, sd ~4.4): the hash is roughly uniform
    assert 5 <= len(parts_large["evaluation"]) <= 35
    # partitions are disjoint and cover the extract; validation is the requested size, taken from training
    ids = [set(p.encounter_id) for p in parts_large.values()]
    assert sum(len(s) for s in ids) == 400 and len(set.union(*ids)) == 400
    assert len(parts_large["validation"]) == 6
    # the seed decides the partition; the same seed gives the same one
    assert p2data.split_charts(large, 0.05, 6, seed=7)["evaluation"].equals(parts_large["evaluation"])
    assert set(p2data.split_charts(large, 0.05, 6, seed=8)["evaluation"].encounter_id) != set(
        parts_large["evaluation"].encounter_id)


def test_augmentation_adds_composites_to_training_only():
    parts, summary = p2data.prepare(frame(100), 0.05, 4, 0.3, seed=1)
    originals = summary["n_train_notes"]
    assert summary["n_composites"] == round(0.3 * originals)
    assert len(parts["train"]) == originals + summary["n_composites"]
    composites = parts["train"][parts["train"].encounter_id.str.contains("+", regex=False)]
    assert len(composites) == summary["n_composites"]
    assert not parts["evaluation"].encounter_id.str.contains("+", regex=False).any()
    assert not parts["validation"].encounter_id.str.contains("+", regex=False).any()
    # a composite's sources are training notes, never evaluation or validation charts
    held_out = set(parts["evaluation"].encounter_id) | set(parts["validation"].encounter_id)
    assert not any(part in held_out for cid in composites.encounter_id for part in cid.split("+"))
    # training frequency counts original notes only: each note has K80 and E11 once
    assert training_frequency(parts["train"]) == {"K80": originals, "E11": originals}


def test_an_extract_without_evidence_stops_with_one_line():
    plain = frame(10).drop(columns="icd10_evidence")
    with pytest.raises(ValueError, match="extract.jsonl: no chart has field 'icd10_evidence'.*paper002.enabled"):
        p2data.prepare(plain, 0.05, 2, 0.3, seed=1, source="extract.jsonl")


CONFIG = {
    "seed": 3,
    "models": {"smollm2": {"stands_in_for": "Phi-3-mini"}},
    "predict": {"generation": {"max_new_tokens": 512, "repetition_penalty": 1.1}, "load": {"device": "cpu"}},
    "finetune": {"training": {"packing": False, "learning_rate": 2e-4}, "data": {"max_examples": 48}},
    "paper002": {"model": "smollm2", "stands_in_for": "Llama-3-70B-Instruct", "generation": {"max_new_tokens": 384},
                 "finetune": {"training": {"packing": True}, "data": {"max_examples": 32}}},
}


def test_stage_settings_reuse_predict_and_finetune_with_the_stage_overrides():
    ft = plan.finetune_settings(CONFIG)
    assert ft["training"] == {"packing": True, "learning_rate": 2e-4} and ft["data"] == {"max_examples": 32}
    job = plan.finetune_job(CONFIG, "results/models/smollm2")
    assert job["prompt"] == "paper002" and job["seed"] == 3 and job["stands_in_for"] == "Llama-3-70B-Instruct"
    zero, tuned = plan.resolve(CONFIG, "zero-shot"), plan.resolve(CONFIG, "fine-tuned")
    assert zero["method"] == "base" and tuned["method"] == "qlora" and zero["prompt"] == "paper002"
    assert zero["generation"] == {"max_new_tokens": 384, "repetition_penalty": 1.1}
    with pytest.raises(ValueError, match="not 'rag'"):
        plan.resolve(CONFIG, "rag")
    with pytest.raises(ValueError, match="paper002.model is 'llama'"):
        plan.model_key({**CONFIG, "paper002": {"model": "llama"}})


def test_training_pair_is_the_prompt_then_the_gold_json(tiny_tokenizer):
    from claimbench.models.sft_data import build_examples
    from claimbench.paper002.task import JSON_TASK, build_prompt, training_pair

    rec = chart(1)
    prompt, completion = training_pair(rec, rec["op_note"], tiny_tokenizer)
    assert prompt == build_prompt(rec["op_note"], tiny_tokenizer)  # what the model sees at inference
    assert "[1] Diagnosis: cholelithiasis." in prompt  # numbered lines, so evidence can cite them
    assert completion.startswith(render(gold_claim(rec)))
    assert parse(completion.split(tiny_tokenizer.eos_token)[0]).claim is not None
    examples, summary = build_examples(frame(5), tiny_tokenizer, "chat_template", None, 100_000, seed=0,
                                       task=JSON_TASK)
    assert summary["n_examples"] == 5 and summary["n_truncated_notes"] == 0
    n_prompt = examples[0]["n_prompt"]
    assert all(label == -100 for label in examples[0]["labels"][:n_prompt])  # loss on the JSON only
    assert examples[0]["labels"][n_prompt:] == examples[0]["input_ids"][n_prompt:]


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    from claimbench.models.tiny import build_tiny

    return AutoTokenizer.from_pretrained(build_tiny("llama", tmp_path_factory.mktemp("tiny") / "llama", seed=1))


def write_predictions(path, texts: dict) -> str:
    with open(path, "w") as handle:
        for eid, text in texts.items():
            handle.write(json.dumps({"encounter_id": eid, "generated_text": text}) + "\n")
    return str(path)


def test_evaluate_scores_each_configuration_on_the_charts_it_predicted(tmp_path):
    charts = frame(3)
    gold = [gold_claim(r) for r in charts.to_dict("records")]
    perfect = {e: render(g) for e, g in zip(charts.encounter_id, gold)}
    # E000: the right category K80 but the wrong code K80.21 with the right evidence line, E11.9 missed, CPT right.
    # E001: not JSON. E002: not predicted (a sample), so not scored.
    partial = {
        "E000": json.dumps({"icd10": [{"code": "K80.21", "rationale": "r", "evidence": {"line": 1, "text": "x"}}],
                            "cpt": [{"code": "47562", "rationale": "r"}]}),
        "E001": "Sure! Here are the codes: K80.20",
    }
    result = evaluate(charts, charts, {"fine-tuned": write_predictions(tmp_path / "ft.jsonl", perfect),
                                       "zero-shot": write_predictions(tmp_path / "zs.jsonl", partial)})
    levels = result.levels.set_index(["configuration", "component"])
    for component in ("icd10_l0", "icd10_l3", "icd10_l4", "cpt"):
        assert levels.loc[("fine-tuned", component), "f1"] == pytest.approx(1.0)
    # zero-shot on 2 charts. Level 0: E000 P 1/1, R 1/2 (K80 of {K80, E11}); E001 0/0 -> mean P 0.5, R 0.25,
    # F1 = 2*0.5*0.25/0.75 = 1/3. Level 3: K80.21 is wrong -> 0. CPT: E000 1/1, E001 0 -> P 0.5, R 0.5, F1 0.5.
    assert levels.loc[("zero-shot", "icd10_l0"), "f1"] == pytest.approx(1 / 3)
    assert levels.loc[("zero-shot", "icd10_l3"), "f1"] == 0
    assert levels.loc[("zero-shot", "cpt"), "f1"] == pytest.approx(0.5)
    assert levels.loc[("zero-shot", "icd10_l0"), "n_charts"] == 2
    facts = result.summary["configurations"]
    assert facts["zero-shot"]["parse"] == {"ok": 1, "empty": 0, "invalid_json": 1, "schema": 0}
    assert facts["zero-shot"]["validity"]["icd10_codes"] == 1  # K80.21 exists in FY2024: not fabricated
    assert facts["zero-shot"]["validity"]["icd10_fabricated"] == 0
    # the perfect claims cite the gold spans: Jaccard 1 over all 6 matched codes
    assert facts["fine-tuned"]["evidence_jaccard"] == pytest.approx(1.0)
    assert facts["fine-tuned"]["evidence_matched_codes"] == 6
    cases = result.cases.set_index(["configuration", "chart"])
    assert cases.loc[("zero-shot", "E001"), "parse_error"] == "invalid_json"
    assert read_generated(tmp_path / "zs.jsonl")["E001"].startswith("Sure!")


def test_report_verdict_and_tables_read_the_stage_outputs(tmp_path):
    charts = frame(3)
    perfect = {e: render(gold_claim(r)) for e, r in zip(charts.encounter_id, charts.to_dict("records"))}
    empty = {e: "" for e in charts.encounter_id}
    result = evaluate(charts, charts, {"zero-shot": write_predictions(tmp_path / "zs.jsonl", empty),
                                       "fine-tuned": write_predictions(tmp_path / "ft.jsonl", perfect)})
    result.levels.to_csv(tmp_path / "levels.csv", index=False)
    (tmp_path / "summary.json").write_text(json.dumps(result.summary, default=float))
    inputs = {"paper002_levels": tmp_path / "levels.csv", "paper002_summary": tmp_path / "summary.json"}
    text = verdict(inputs)
    assert "Fine-tuning above zero-shot: **yes**" in text
    assert "without rising: **yes**; the largest drop between neighbouring levels is 0.00" in text
    table = levels_display(inputs).set_index("level")
    assert table.loc["ICD-10-CM Level 0 (category)", "paper fine-tuned F1 (cited)"] == "0.86"
    assert table.loc["ICD-10-CM Level 1 (subcategory)", "paper fine-tuned F1 (cited)"] == "—"  # not in the text
    assert table.loc["CPT (exact set)", "zero-shot F1"] == "0.00"
    outputs = outputs_display(inputs).set_index("configuration")
    assert outputs.loc["zero-shot", "empty"] == 3 and outputs.loc["fine-tuned", "valid JSON claim"] == 3


def test_dataset_diagnostics_text(tmp_path):
    from claimbench.paper002.report import diagnostics_text

    path = tmp_path / "diagnostics.json"
    path.write_text(json.dumps({
        "n_documents": 4, "code_frequency": {"icd10": {"I10": 3, "E11.9": 3, "Z59.0": 1}},
        "labels_per_document": {"mean": 2.5, "median": 2, "max": 4},
        "discards": {"n_intended": 11, "n_discarded": 1, "rate": 1 / 11, "by_reason": {"no_evidence_in_note": 1}},
        "domain_shares": {"SDoH": {"documents": 1, "share": 0.25}},
        "note_length": {"words": {"min": 80, "max": 400, "median": 150}},
    }))
    text, top = diagnostics_text(path)
    assert "4 charts, 2.50 ICD-10-CM labels per chart" in text
    assert "1 (9.1%) were discarded" in text and "1 no evidence in note" in text and "SDoH 25%" in text
    assert top.values.tolist() == [["E11.9", 3], ["I10", 3], ["Z59.0", 1]]  # by count, then code


def test_prediction_inputs_name_the_base_or_the_merged_model():
    folder = {"smollm2": "results/models/smollm2"}.__getitem__
    assert plan.predict_inputs(CONFIG, "zero-shot", folder) == {
        "evaluation": "results/paper002/data/evaluation.parquet", "model": "results/models/smollm2/config.json"}
    assert plan.predict_inputs(CONFIG, "fine-tuned", folder)["model"] == "results/paper002/finetune/fine-tuned/merged"
