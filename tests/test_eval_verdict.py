"""The ordering verdict: known answers on hand-made intervals (yes / no / not separable / not tested)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from claimbench.evaluation.verdict import (
    NO,
    NOT_SEPARABLE,
    NOT_TESTED,
    YES,
    Interval,
    combine,
    compare,
    headline_display,
    headline_f1,
    ordering_verdicts,
    verdict_display,
    write,
)


def iv(lower, upper, value=None):
    return Interval("x", (lower + upper) / 2 if value is None else value, lower, upper)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (iv(0.1, 0.2), iv(0.3, 0.4), YES),  # apart, in the expected direction
        (iv(0.3, 0.4), iv(0.1, 0.2), NO),  # apart, the other way round
        (iv(0.1, 0.3), iv(0.2, 0.4), NOT_SEPARABLE),  # overlap
        (iv(0.1, 0.3), iv(0.3, 0.5), NOT_SEPARABLE),  # touching is not apart
        (iv(0.0, 0.0), iv(0.0, 0.0), NOT_SEPARABLE),  # two configurations that both score 0 everywhere
        (iv(float("nan"), float("nan")), iv(0.3, 0.4), NOT_TESTED),
    ],
)
def test_compare(low, high, expected):
    assert compare(low, high) == expected


def test_combine():
    assert combine([YES, YES]) == YES
    assert combine([YES, NOT_SEPARABLE]) == NOT_SEPARABLE
    assert combine([YES, NOT_SEPARABLE, NO]) == NO
    assert combine([YES, NOT_TESTED]) == NOT_TESTED
    assert combine([]) == NOT_TESTED


# F1 intervals per configuration and component: (f1, lower, upper)
RUN = {
    # ICD-10-CM: base < rag < both ft, all apart. CPT: rag overlaps ft-medium. Modifiers: rag lies above ft-medium.
    "base": {"icd10": (0.10, 0.05, 0.15), "cpt": (0.10, 0.05, 0.15), "modifier": (0.00, 0.00, 0.00)},
    "rag": {"icd10": (0.30, 0.25, 0.35), "cpt": (0.60, 0.52, 0.68), "modifier": (0.50, 0.45, 0.55)},
    # ft-mini: CPT above ICD-10-CM; modifiers overlap ICD-10-CM. ft-medium: CPT below ICD-10-CM; modifiers lowest.
    "ft-mini": {"icd10": (0.60, 0.55, 0.65), "cpt": (0.75, 0.70, 0.80), "modifier": (0.55, 0.50, 0.60)},
    "ft-medium": {"icd10": (0.70, 0.66, 0.74), "cpt": (0.60, 0.55, 0.65), "modifier": (0.10, 0.05, 0.15)},
    "knn": {"icd10": (0.90, 0.85, 0.95), "cpt": (0.01, 0.00, 0.02), "modifier": (0.00, 0.00, 0.00)},
}
CONFIGS = pd.DataFrame(
    {
        "configuration": ["base", "rag", "knn", "ft-mini", "ft-medium", "api"],
        "run": [True, True, True, True, True, False],
        "method": ["base", "rag", "knn", "qlora", "qlora", "api"],
        "paper_column": ["Phi-3-mini", "Phi-3-mini RAG", "", "Fine-tuned Phi-3-mini", "Fine-tuned Phi-3-medium",
                         "GPT-4o"],
    }
)


def replicates(run=RUN, n=200):
    """F1 replicates that move together: each configuration's F1 plus the same noise spread over its interval, as
    if every configuration gained or lost on the same resampled cases (a perfectly paired bootstrap). The paired
    difference is then exactly the F1 difference in every replicate."""
    z = np.linspace(-1, 1, n)
    return {(name, c): v[0] + z * (v[2] - v[1]) / 2 for name, comps in run.items() for c, v in comps.items()}


def frames(run=RUN):
    metrics = pd.DataFrame(
        [(n, c, "f1", v[0]) for n, comps in run.items() for c, v in comps.items()]
        + [(n, c, "precision", 0.123) for n, comps in run.items() for c in comps],
        columns=["configuration", "component", "metric", "value"],
    )
    intervals = pd.DataFrame(
        [(n, c, "f1", v[0], 0.01, v[1], v[2]) for n, comps in run.items() for c, v in comps.items()],
        columns=["configuration", "component", "metric", "mean", "sd", "lower", "upper"],
    )
    return metrics, intervals


def test_headline_f1_puts_the_interval_beside_the_paper():
    metrics, intervals = frames()
    head = headline_f1(metrics, intervals, CONFIGS).set_index(["configuration", "component"])
    assert tuple(head.loc[("rag", "cpt"), ["f1", "lower", "upper", "paper_f1"]]) == (0.60, 0.52, 0.68, 0.59)
    assert head.loc[("ft-medium", "icd10"), "paper_f1"] == 0.68
    assert head.loc[("knn", "icd10"), "paper_column"] == "" and pd.isna(head.loc[("knn", "icd10"), "paper_f1"])
    assert not head.loc[("api", "icd10"), "run"] and pd.isna(head.loc[("api", "icd10"), "f1"])
    display = headline_display(headline_f1(metrics, intervals, CONFIGS)).set_index("Configuration")
    assert display.loc["rag", "CPT F1 [95% CI]"] == "0.60 [0.52, 0.68]" and display.loc["rag", "CPT paper"] == "0.59"
    assert display.loc["knn", "Paper column"] == "beyond the paper" and display.loc["knn", "CPT paper"] == "—"
    assert display.loc["api", "ICD-10-CM F1 [95% CI]"] == "not run" and display.loc["api", "ICD-10-CM paper"] == "0.55"


def test_ordering_verdicts_known_answers():
    metrics, intervals = frames()
    headline = headline_f1(metrics, intervals, CONFIGS)
    verdicts = ordering_verdicts(headline, replicates()).set_index(["finding", "scope"])
    assert verdicts.loc[("a", "ICD-10-CM"), "verdict"] == YES
    # rag 0.60 and ft-medium 0.60 on CPT: a difference of 0 in every replicate is not apart from zero
    assert verdicts.loc[("a", "CPT"), "verdict"] == NOT_SEPARABLE
    assert verdicts.loc[("a", "Modifier"), "verdict"] == NO  # rag 0.50 above ft-medium 0.10
    scope = "within ft-mini, ft-medium"
    assert verdicts.loc[("b", scope), "verdict"] == NO  # ft-medium: CPT 0.60 below ICD-10-CM 0.70
    # ft-mini's modifiers 0.55 [0.50, 0.60] overlap its ICD-10-CM 0.60 [0.55, 0.65], but lie below it in every
    # replicate: the paired test separates what the paper's non-overlap view cannot
    assert verdicts.loc[("c", scope), "verdict"] == YES
    assert verdicts.loc[("c", scope), "verdict_nonoverlap"] == NOT_SEPARABLE
    assert list(verdicts.verdict_nonoverlap) == [YES, NOT_SEPARABLE, NO, NO, NOT_SEPARABLE]
    # knn (beyond the paper) is in no comparison, however it scores; nor is api (no role in the ordering)
    assert not verdicts.evidence.str.contains("knn|api").any()
    # the paper's cited values satisfy every finding as stated
    assert set(verdicts.paper_verdict) == {YES}
    shown = verdict_display(verdicts.reset_index())
    assert list(shown["Holds here? (paired)"]) == [YES, NOT_SEPARABLE, NO, NO, YES]
    # without replicates the paired verdict cannot be made
    assert set(ordering_verdicts(headline).verdict) == {NOT_TESTED}


def test_a_missing_role_is_not_tested():
    run = {k: v for k, v in RUN.items() if k != "rag"}
    metrics, intervals = frames(run)
    configs = CONFIGS.assign(run=CONFIGS.configuration.isin(["base", "knn", "ft-mini", "ft-medium"]))
    verdicts = ordering_verdicts(headline_f1(metrics, intervals, configs), replicates(run))
    a = verdicts[verdicts.finding == "a"]
    assert set(a.verdict) == {NOT_TESTED} and a.evidence.str.contains("no rag configuration").all()
    assert list(verdicts[verdicts.finding != "a"].verdict) == [NO, YES]  # (b), (c) still judged


def test_a_paper_row_that_did_not_run_is_left_out_and_named():
    run = {k: v for k, v in RUN.items() if k != "ft-medium"}
    metrics, intervals = frames(run)
    configs = CONFIGS.assign(run=CONFIGS.configuration != "ft-medium")
    verdicts = ordering_verdicts(headline_f1(metrics, intervals, configs), replicates(run)).set_index("finding")
    assert verdicts.loc["b", "scope"] == "within ft-mini" and verdicts.loc["b", "verdict"] == YES
    assert verdicts.loc["c", "verdict"] == YES and verdicts.loc["c", "verdict_nonoverlap"] == NOT_SEPARABLE
    assert verdicts.evidence.str.endswith("(not run, left out: ft-medium)").all()


def _replicate_frame(run=RUN) -> pd.DataFrame:
    """replicates() in bootstrap_replicates.parquet's long layout."""
    frames = [pd.DataFrame({"configuration": name, "component": c, "metric": "f1", "replicate": np.arange(len(v)),
                            "value": v}) for (name, c), v in replicates(run).items()]
    return pd.concat(frames, ignore_index=True)


def _cases(full: dict[str, list[bool]]) -> dict[str, pd.DataFrame]:
    """Per-case frames whose full match is the same list on every component."""
    return {name: pd.DataFrame({"encounter_id": [f"e{i}" for i in range(len(v))],
                                **{f"{c}_full_match": v for c in ("icd10", "cpt", "modifier")}})
            for name, v in full.items()}


def test_write_round_trips_through_csv(tmp_path):
    metrics, intervals = frames()
    paths = {}
    for name, frame in (("metrics", metrics), ("intervals", intervals), ("configurations", CONFIGS)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    _replicate_frame().to_parquet(tmp_path / "replicates.parquet", index=False)
    case_paths = {}
    for name, frame in _cases({n: [True, False, False, True] for n in RUN}).items():
        case_paths[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(case_paths[name], index=False)
    out = {"headline": tmp_path / "headline.csv", "verdicts": tmp_path / "verdicts.csv",
           "paired": tmp_path / "paired.csv"}
    write(paths["metrics"], paths["intervals"], paths["configurations"], out, tmp_path / "replicates.parquet",
          case_paths)
    again = pd.read_csv(out["verdicts"], keep_default_na=False)
    assert list(again.verdict) == [YES, NOT_SEPARABLE, NO, NO, YES]
    assert list(again.verdict_nonoverlap) == [YES, NOT_SEPARABLE, NO, NO, NOT_SEPARABLE]
    assert pd.read_csv(out["headline"]).shape == (len(CONFIGS) * 3, 9)
    paired = pd.read_csv(out["paired"])
    # (a) base<rag, rag<ft-mini, rag<ft-medium per component (9); (b) 2; (c) 4; best (ft-mini) against base, rag
    # and knn per component (9)
    assert paired.finding.value_counts().to_dict() == {"a": 9, "b": 2, "c": 4, "best": 9}
    same = paired[paired.finding == "best"]
    assert (same.mcnemar_p == 1.0).all() and (same.mcnemar_only_low == 0).all()  # identical outcomes


def test_evidence_names_what_is_compared():
    metrics, intervals = frames()
    verdicts = ordering_verdicts(headline_f1(metrics, intervals, CONFIGS), replicates()).set_index("finding")
    assert verdicts.evidence.iloc[0].startswith(
        "base 0.10 [0.05, 0.15] < rag 0.30 [0.25, 0.35]: difference +0.20 [+0.20, +0.20]: yes; ")
    assert verdicts.loc["b", "evidence"].startswith(
        "ft-mini: ICD-10-CM 0.60 [0.55, 0.65] < CPT 0.75 [0.70, 0.80]: difference +0.15 [+0.15, +0.15]: yes")


def test_best_against_against_every_configuration_without_fine_tuning():
    from claimbench.evaluation.verdict import best_against, paired_table

    metrics, intervals = frames()
    headline = headline_f1(metrics, intervals, CONFIGS)
    # best on 4 cases: right on all but the last; base right on the first only; rag and knn as best
    cases = _cases({"ft-mini": [True, True, True, False], "base": [True, False, False, False],
                    "rag": [True, True, True, False], "knn": [True, True, True, False],
                    "ft-medium": [False] * 4})
    # mean of ICD-10-CM and CPT F1: ft-mini 0.675, ft-medium 0.65
    best, table = best_against(paired_table(headline, replicates(), cases))
    assert best == "ft-mini"
    rows = table.set_index(["Compared with", "Component"])
    assert list(dict.fromkeys(table["Compared with"])) == ["base", "rag", "knn"]  # api did not run
    assert rows.loc[("base", "ICD-10-CM"), "Difference [paired 95% CI]"] == "+0.50 [+0.50, +0.50]"
    assert rows.loc[("base", "ICD-10-CM"), "Paired verdict"] == "above"
    assert rows.loc[("knn", "ICD-10-CM"), "Paired verdict"] == "below"
    assert rows.loc[("knn", "ICD-10-CM"), "F1 intervals (paper's view)"] == "apart"
    # rag's modifiers 0.50 [0.45, 0.55] overlap ft-mini's 0.55 [0.50, 0.60]: apart only in the paired view
    assert rows.loc[("rag", "Modifier"), "Paired verdict"] == "above"
    assert rows.loc[("rag", "Modifier"), "F1 intervals (paper's view)"] == "overlap"
    # McNemar: 2 cases only ft-mini got right, none only base: exact two-sided p = 2 * 0.5^2 = 0.5
    assert rows.loc[("base", "CPT"), "Full match only best / only other"] == "2 / 0"
    assert rows.loc[("base", "CPT"), "McNemar p"] == "0.500"
    assert rows.loc[("rag", "CPT"), "McNemar p"] == "1.000"
    none_ran = CONFIGS.assign(run=CONFIGS.method != "qlora")
    assert best_against(paired_table(headline_f1(metrics, intervals, none_ran), replicates()))[0] is None


def test_best_grounded_configuration_against_the_retrieval_references():
    from claimbench.evaluation.verdict import best_against, paired_table

    run = {**RUN, "grounded": {"icd10": (0.20, 0.15, 0.25), "cpt": (0.30, 0.25, 0.35), "modifier": (0.1, 0.0, 0.2)},
           "grounded+evidence": {"icd10": (0.95, 0.93, 0.97), "cpt": (0.70, 0.65, 0.75),
                                 "modifier": (0.5, 0.4, 0.6)}}
    configs = pd.concat([CONFIGS, pd.DataFrame({"configuration": ["grounded", "grounded+evidence"], "run": [True] * 2,
                                                "method": ["grounded"] * 2, "paper_column": [""] * 2})])
    metrics, intervals = frames(run)
    paired = paired_table(headline_f1(metrics, intervals, configs), replicates(run))
    best, table = best_against(paired, "grounded")
    assert best == "grounded+evidence"  # the higher mean of ICD-10-CM and CPT F1
    rows = table.set_index(["Compared with", "Component"])
    assert list(dict.fromkeys(table["Compared with"])) == ["knn"]  # the retrieval references only
    assert rows.loc[("knn", "ICD-10-CM"), "Difference [paired 95% CI]"] == "+0.05 [+0.02, +0.08]"
    assert rows.loc[("knn", "CPT"), "Paired verdict"] == "above"
    assert best_against(paired_table(headline_f1(metrics, intervals, CONFIGS), replicates()), "grounded")[0] is None
