"""Report tables: Table 2 beside the paper, not-run columns, per-service breakdown, training statistics, Figure 3,
and the evaluation steps end to end on a small fixture."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from claimbench.claim import PHI3_SEGMENT_TOKENS, Claim, render_claim
from claimbench.data.io import write_encounters
from claimbench.evaluation import pipeline
from claimbench.evaluation.structure import find_nltk_data
from claimbench.evaluation.tables import (
    TABLE2_ROWS,
    paper_table2,
    paper_training,
    per_service,
    per_service_display,
    table2,
    table2_display,
    training_display,
    training_stats,
)
from claimbench.plan.configurations import configuration_names, finetuned_names

PAPER_COLUMNS = {"base": "Phi-3-mini", "ft-mini": "Fine-tuned Phi-3-mini", "api": "GPT-4o"}


def test_paper_values_are_complete_and_cited():
    paper = paper_table2()
    assert len(paper) == 19 * 5 and set(map(tuple, paper[["component", "metric"]].values)) == set(TABLE2_ROWS)
    cited = paper.set_index(["component", "metric", "column"])["value"]
    assert cited[("cpt", "recall", "Fine-tuned Phi-3-medium")] == 0.77
    assert cited[("structure", "meteor", "Fine-tuned Phi-3-medium")] == 0.87
    assert cited[("icd10", "fabricated", "Phi-3-mini")] == 49.7
    training = paper_training().set_index("column")
    assert training.loc["Fine-tuned Phi-3-mini", "trainable_params"] == 201_612_288
    assert training.loc["Fine-tuned Phi-3-medium", "hours"] == 30.5


def _metrics():
    rows = [("base", "icd10", "full_match", 0.5), ("base", "icd10", "recall", 0.25), ("base", "structure", "rougeL", 0.384),
            ("knn", "cpt", "f1", 0.125)]
    return pd.DataFrame(rows, columns=["configuration", "component", "metric", "value"])


def test_table2_puts_the_paper_beside_this_run_in_the_paper_units():
    run = {"base": True, "knn": True, "api": False}
    table = table2(_metrics(), ["base", "knn", "api"], PAPER_COLUMNS, run)
    value = table.set_index(["component", "metric", "paper_column", "configuration"])
    assert value.loc[("icd10", "full_match", "Phi-3-mini", "base"), "value"] == 50.0  # share -> percent
    assert value.loc[("icd10", "full_match", "Phi-3-mini", "base"), "paper_value"] == 5.2
    assert value.loc[("structure", "rougeL", "Phi-3-mini", "base"), "value"] == pytest.approx(38.4)  # F -> x100
    assert np.isnan(value.loc[("cpt", "f1", "", "knn"), "paper_value"])  # knn has no paper counterpart
    # paper columns no configuration stands in for are kept, with configuration ""
    assert value.loc[("cpt", "recall", "Fine-tuned Phi-3-medium", ""), "paper_value"] == 0.77
    shown = table2_display(table).set_index("Metric")
    assert list(shown.columns[:4]) == ["Claim Component", "base [Phi-3-mini]", "knn (beyond the paper)",
                                     "api [GPT-4o]"]
    assert shown.loc["Full Match %", "base [Phi-3-mini]"].iloc[0] == "50.0% [5.2%]"
    assert shown.loc["ROUGE L", "base [Phi-3-mini]"] == "38.4 [38.0]"
    assert shown.loc["F1", "knn (beyond the paper)"].iloc[1] == "0.12"  # CPT F1: the second F1 row
    assert shown.loc["Recall", "api [GPT-4o]"].iloc[0] == "not run [0.52]"
    assert shown.loc["METEOR Score", "Fine-tuned Phi-3-medium (paper only)"] == "[0.87]"
    assert shown.loc["Valid %", "base [Phi-3-mini]"].iloc[0] == "— [50.3%]"  # not computed -> dash
    assert list(shown["Claim Component"][:2]) == ["ICD-10-CM", ""]
    # the same table read back from its CSV file (empty cells become NaN) displays the same
    assert table2_display(pd.read_csv(pd.io.common.StringIO(table.to_csv(index=False)))).equals(table2_display(table))


def test_per_service_by_hand():
    def case(service, p, r, full):
        row = {"service": service, "encounter_id": f"{service}{p}{r}"}
        for c in ("icd10", "cpt", "modifier", "modifier_set"):
            row |= {f"{c}_precision": p, f"{c}_recall": r, f"{c}_full_match": full, f"gold_{c}": ["x"]}
        return row

    cases = pd.DataFrame([case("Eye", 1.0, 0.5, False), case("Eye", 0.0, 0.5, False), case("Knee", 1.0, 1.0, True)])
    table = per_service({"base": cases, "api": cases}, {"base": True, "api": False})
    eye = table[(table.service == "Eye") & (table.component == "cpt")].iloc[0]
    assert (eye.n_cases, eye.precision, eye.recall) == (2, 0.5, 0.5) and eye.f1 == 0.5
    assert set(table.configuration) == {"base"}
    shown = per_service_display(table, ["base", "api"])
    assert list(shown["Service (test cases)"]) == ["Eye (2)", "Knee (1)"]
    assert shown.loc[0, "base"] == "0.50 / 0.50 / 0.50" and shown.loc[1, "api"] == "not run"


def test_training_stats_beside_the_paper():
    stats = {"ft-mini": {"wall_seconds": 1800, "trainable_params": 10, "total_params": 200,
                         "trainable_params_paper_convention": 30}}
    table = training_stats(stats, {"ft-mini": {"model": "smollm2"}}, PAPER_COLUMNS)
    mini = table.iloc[0]
    assert mini.hours == 0.5 and mini.trainable_share == 0.05 and mini.paper_trainable_params == 201_612_288
    assert table.iloc[1].paper_column == "Fine-tuned Phi-3-medium" and table.iloc[1].configuration == ""
    shown = training_display(table)
    assert list(shown.loc[0, ["Training time", "Share", "Paper time", "Paper share"]]) == ["30.0 min", "5.0%", "7.3 h", "5%"]
    assert shown.loc[0, "Counted as the paper"] == "30 (15.0%)"
    assert shown.loc[1, "Configuration"] == "(none configured)" and shown.loc[1, "Paper share"] == "2.7%"


def test_configuration_names_and_the_finetuned_ones():
    assert configuration_names({}) == []
    assert configuration_names({"configurations": {"base": {}, "rag": {"method": "rag"}}}) == ["base", "rag"]
    config = {"configurations": {"base": {"method": "base"}, "ft-mini": {"method": "qlora"},
                                 "ft-mini+grammar": {"method": "qlora", "finetuned_from": "ft-mini"}}}
    assert finetuned_names(config) == ["ft-mini"]


def test_the_evaluation_steps_end_to_end(tmp_path):
    """evaluate_configuration -> summarize -> bootstrap -> Figure 3 -> training, on four encounters."""
    records = []
    for i, (icd, cpt, mods) in enumerate([("H25.11", "66984", ["RT"]), ("M17.11", "27447", ["LT"]),
                                          ("K40.90", "49505", []), ("N20.0", "52356", ["LT"])]):
        records.append({"encounter_id": f"e{i}", "surgery_date": "2022-03-01", "fiscal_year": 2022,
                        "service": "Eye" if i < 2 else "Other", "patient_age": 50, "patient_sex": "F", "op_note": "x",
                        "icd10": [icd], "cpt_lines": [{"provider": "Dr A", "cpt": cpt, "modifiers": mods,
                                                       "description": "d"}]})
    write_encounters(records, tmp_path / "test.parquet")
    perfect = [render_claim(Claim.from_record(r), PHI3_SEGMENT_TOKENS) for r in records]
    runs = {"base": ["nonsense"] * 4, "ft-mini": perfect, "api": None}
    case_paths, meta_paths = {}, {}
    for name, texts in runs.items():
        with open(tmp_path / f"{name}.jsonl", "w") as handle:
            for record, text in zip(records, texts or []):
                handle.write(json.dumps({"encounter_id": record["encounter_id"], "generated_text": text}) + "\n")
        meta_paths[name] = tmp_path / f"{name}.meta.json"
        meta_paths[name].write_text(json.dumps({"configuration": name, "model": "m", "run": texts is not None,
                                                "reason": None if texts else "off"}))
        case_paths[name] = tmp_path / f"{name}.parquet"
        pipeline.evaluate_configuration(tmp_path / "test.parquet", tmp_path / f"{name}.jsonl", meta_paths[name],
                                        case_paths[name], evaluation={"nltk_data": str(find_nltk_data())})
    out = {k: tmp_path / f"{k}.csv" for k in ("metrics", "table2", "per_service", "configurations")}
    pipeline.summarize(case_paths, meta_paths, PAPER_COLUMNS, out)
    metrics = pd.read_csv(out["metrics"]).set_index(["configuration", "component", "metric"])["value"]
    assert metrics[("ft-mini", "cpt", "f1")] == 1.0 and metrics[("ft-mini", "modifier", "full_match")] == 1.0
    assert metrics[("ft-mini", "structure", "rougeL")] == pytest.approx(1.0)
    assert metrics[("base", "cpt", "recall")] == 0.0 and metrics[("base", "format", "icd_section")] == 0.0
    # base wrote no parseable claim: 0 on modifiers too, even on the claim without modifiers
    assert metrics[("base", "modifier", "full_match")] == 0.0
    assert "api" not in metrics.index.get_level_values(0)
    shown = table2_display(pd.read_csv(out["table2"]))
    assert shown.loc[shown.Metric == "F1", "api [GPT-4o]"].tolist() == ["not run [0.55]", "not run [0.66]", "not run [0.30]"]
    boot = {"replicates": tmp_path / "reps.parquet", "intervals": tmp_path / "ci.csv"}
    pipeline.bootstrap(case_paths, meta_paths, n_resamples=20, seed=1, out=boot)
    reps = pd.read_parquet(boot["replicates"])
    assert set(reps.configuration) == {"base", "ft-mini"} and len(reps) == 2 * 3 * 3 * 20
    pipeline.draw_figure3(boot["replicates"], out["configurations"], PAPER_COLUMNS, tmp_path / "fig3.png")
    assert (tmp_path / "fig3.png").read_bytes()[:4] == b"\x89PNG"
    (tmp_path / "stats.json").write_text(json.dumps({"wall_seconds": 36, "trainable_params": 5, "total_params": 100}))
    pipeline.training({"ft-mini": tmp_path / "stats.json"}, {"ft-mini": meta_paths["ft-mini"]}, PAPER_COLUMNS,
                      tmp_path / "training.csv")
    assert pd.read_csv(tmp_path / "training.csv").loc[0, "trainable_share"] == 0.05


def test_a_sampled_run_is_scored_on_its_sample_only(tmp_path):
    """predict.n_test_cases: the cases outside the shared sample are not this run's test set (not scored as 0)."""
    records = [{"encounter_id": f"e{i}", "surgery_date": "2022-03-01", "fiscal_year": 2022, "service": "Eye",
                "patient_age": 50, "patient_sex": "F", "op_note": "x", "icd10": ["H25.11"],
                "cpt_lines": [{"provider": "Dr A", "cpt": "66984", "modifiers": ["RT"], "description": "d"}]}
               for i in range(5)]
    write_encounters(records, tmp_path / "test.parquet")
    claim = render_claim(Claim.from_record(records[0]))
    (tmp_path / "p.jsonl").write_text(
        "".join(json.dumps({"encounter_id": e, "generated_text": claim}) + "\n" for e in ("e1", "e3")))
    meta = tmp_path / "p.meta.json"
    meta.write_text(json.dumps({"configuration": "knn", "run": True, "case_ids": ["e1", "e3", "e4"]}))
    wordnet = {"nltk_data": str(find_nltk_data())}  # stated, not left to whichever test set nltk's path before
    cases = pipeline.evaluate_configuration(tmp_path / "test.parquet", tmp_path / "p.jsonl", meta, tmp_path / "c.pq",
                                            evaluation=wordnet)
    assert list(cases.encounter_id) == ["e1", "e3", "e4"]  # e4 was asked and not answered: it scores 0
    assert list(cases.cpt_recall) == [1.0, 1.0, 0.0]
    codes_only = pipeline.evaluate_configuration(tmp_path / "test.parquet", tmp_path / "p.jsonl", meta,
                                                 tmp_path / "c2.pq", structure=False)  # the extra case sets' way
    assert "rougeL" in cases.columns and not any(c.startswith(("rouge", "meteor")) for c in codes_only.columns)
    assert codes_only.equals(cases[codes_only.columns])  # the same code scores
    meta.write_text(json.dumps({"configuration": "knn", "run": True, "case_ids": ["e1", "zz"]}))
    with pytest.raises(ValueError, match="p.meta.json: case_ids not in the test split .*'zz'"):
        pipeline.evaluate_configuration(tmp_path / "test.parquet", tmp_path / "p.jsonl", meta, tmp_path / "c.pq")


def test_no_configurations_yet_gives_the_paper_columns_only(tmp_path):
    """Before the models stage declares configurations, every output exists and the report shows the paper."""
    out = {k: tmp_path / f"{k}.csv" for k in ("metrics", "table2", "per_service", "configurations")}
    pipeline.summarize({}, {}, PAPER_COLUMNS, out)
    boot = {"replicates": tmp_path / "reps.parquet", "intervals": tmp_path / "ci.csv"}
    pipeline.bootstrap({}, {}, n_resamples=10, seed=1, out=boot)
    pipeline.draw_figure3(boot["replicates"], out["configurations"], PAPER_COLUMNS, tmp_path / "fig3.png")
    pipeline.training({}, {}, PAPER_COLUMNS, tmp_path / "training.csv")
    shown = table2_display(pd.read_csv(out["table2"]))
    assert list(shown.columns[2:]) == [f"{c} (paper only)" for c in paper_table2().column.unique()]
    assert pd.read_csv(boot["intervals"]).empty and pd.read_csv(out["configurations"]).empty
    assert (tmp_path / "fig3.png").exists()
    assert len(training_display(pd.read_csv(tmp_path / "training.csv"))) == 2
    assert per_service_display(pd.read_csv(out["per_service"]), []).empty
