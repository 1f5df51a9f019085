"""Scientific hygiene, read from the workflow's own DAG: the test split feeds no training or tuning job.

Every hyperparameter is chosen on the training/validation splits (claimbench.models.selection); the test split is
read only by prediction and evaluation. A dry run of the whole DAG (``-n --forceall``) lists each job's inputs and
outputs; this test walks the DAG upwards from every fine-tuned model and checks that no job on the way reads the
test split. Both the default configuration and the smoke profile are checked, since their configurations differ.
"""

from __future__ import annotations

import pytest
from _dag import dry_run_jobs, upstream

TEST_SPLIT = "results/data/split/test.parquet"
# the style-shifted notes of test encounters (rules/style_shift.smk: the style-shift check's sample and the whole
# split's): as blind to training as the test split
SHIFTED_TEST = "results/data/split/test_shifted.parquet"
WHOLE_SHIFTED_TEST = "results/data/split/test_whole_shifted.parquet"
# Rules that make or tune a model: their outputs, and everything that feeds them, must be blind to the test split.
TRAINING_RULES = {"finetune", "merge_adapter", "finetune_neighbours", "select_decoding", "select_grounding_reference",
                  "select_grounding_choice", "paper002_finetune", "paper002_merge"}
# Paper 002's held-out charts (its fixed 95/5 split): its fine-tuning must be as blind to them as paper 000's to the test
# split; its description-grounded variant (rule paper002_ground) reads them as a prediction does, and chooses nothing.
P002_EVALUATION = "results/paper002/data/evaluation.parquet"
# Training rules of extras only (ft-mini+lexicon, ft-mini+describe: profiles/study/extras.yaml), not in the default
# DAG; the smoke profile runs them.
EXTRA_RULES = {"select_grounding_choice", "select_decoding", "finetune_neighbours"}


@pytest.mark.parametrize("profile", [None, "profiles/smoke"])
def test_no_training_or_tuning_job_reads_the_test_split(profile):
    jobs = dry_run_jobs(*(["--profile", profile] if profile else ["--cores", "1"]))
    training = [job for job in jobs if job["rule"] in TRAINING_RULES]
    expected = TRAINING_RULES if profile else TRAINING_RULES - EXTRA_RULES
    assert {job["rule"] for job in training} >= expected, "a training or tuning rule is missing from the DAG"
    for job in upstream(jobs, training):
        if job["rule"] in ("split_encounters", "paper002_split"):
            continue  # each writes a held-out split (with the others); reading its train/validation outputs is fine
        assert P002_EVALUATION not in job["input"], f"rule {job['rule']} feeds fine-tuning and reads paper 002's charts"
        assert TEST_SPLIT not in job["input"], f"rule {job['rule']} feeds fine-tuning and reads the test split"
        for shifted in (SHIFTED_TEST, WHOLE_SHIFTED_TEST):
            assert shifted not in job["input"], f"rule {job['rule']} feeds fine-tuning and reads shifted test notes"
    # and the test split really is read downstream (the parse found the inputs at all)
    assert any(TEST_SPLIT in job["input"] for job in jobs if job["rule"] == "predict")
    assert any(P002_EVALUATION in job["input"] for job in jobs if job["rule"] == "paper002_ground")
    # both run the style-shift check and the whole split's two case sets
    for notes in (SHIFTED_TEST, WHOLE_SHIFTED_TEST):
        assert any(notes in job["input"] for job in jobs if job["rule"] == "predict_case_set")
