"""Phrasing banks: each coded finding, procedure and modifier fact written in many surface forms, every form
evidence-linked; and the style-shifted notes of the held-out bank (same encounters, same gold codes, new wording)."""

import random
import re
from collections import defaultdict

import pandas as pd
import pytest

from claimbench.data.dictation import ASSISTANT_ROLES
from claimbench.data.phrasing import BANKS, PHRASING_FILE, _banks, load_bank, typo
from claimbench.data.shift import shifted_test, with_shifted_notes
from claimbench.plan.style_shift import case_set_files, case_set_inputs
from claimbench.data.synthetic import SyntheticSettings, generate_extract, generate_extract_and_shift


@pytest.fixture(scope="module")
def extract():
    return generate_extract_and_shift(SyntheticSettings(n_encounters=400, years=(2019, 2024), seed=5))


def test_plain_bank_writes_the_policy_wording():
    plain = load_bank("plain")
    r = random.Random(0)
    assert all(plain.surface(p, r) == p for p in ["tear of the medial meniscus", "laparoscopic cholecystectomy"])
    records, choices = generate_extract(SyntheticSettings(n_encounters=60, seed=2, phrasing="plain"))
    labels = [label for choice in choices for label in choice["diagnoses"]]
    assert labels and all(label["written"].lower() == label["phrase"].lower() for label in labels)


def test_a_bank_rewrites_whole_words_keeps_case_and_is_seeded():
    bank = load_bank("training")
    forms = {bank.surface("Laparoscopic cholecystectomy with cholangiogram", random.Random(seed)) for seed in range(60)}
    assert "Laparoscopic cholecystectomy with cholangiogram" in forms  # kept verbatim some of the time
    assert any(form.startswith("Lap ") for form in forms)  # the capital start survives the abbreviation
    assert any("w/" in form for form in forms)
    assert bank.surface("tear of the medial meniscus", random.Random(3)) == \
        bank.surface("tear of the medial meniscus", random.Random(3))
    assert not any("/" in bank.surface("withdrawal bleeding", random.Random(s)) for s in range(60))  # whole words
    assert bank.prose("The operating room was ready.", random.Random(1)) in {"The operating room was ready.",
                                                                              "The OR was ready."}


@pytest.mark.parametrize("kind", ["swap", "drop", "double", "split"])
def test_a_typo_changes_one_long_word_and_keeps_its_ends(kind):
    out = typo("severe cataract", kind, random.Random(4))
    assert out != "severe cataract" and out.startswith("severe c") and out.endswith("t")
    assert typo("a b c", kind, random.Random(4)) == "a b c"  # no word long enough: unchanged
    with pytest.raises(ValueError, match="unknown typo kind"):
        typo("cataract", "smudge", random.Random(0))


def test_unknown_bank_is_a_clear_error():
    with pytest.raises(ValueError, match="no phrasing bank 'dialect'"):
        load_bank("dialect")
    assert set(BANKS) == set(_banks(PHRASING_FILE))


def test_the_held_out_bank_shares_no_rewrite_with_the_training_bank():
    training, held_out = load_bank("training").spec, load_bank("held_out").spec
    for field in ("synonyms", "prose"):
        for key, forms in held_out[field].items():
            assert not set(forms) & set(training[field].get(key, [])), (field, key)
            assert not set(forms) & {f for fs in training[field].values() for f in fs}, (field, key, forms)
    for field in ("sides", "eyes", "assistant_roles"):
        for key, forms in held_out[field].items():
            assert not set(forms) & set(training[field][key]), (field, key)
    assert not set(held_out["dx_sentences"]) & set(training["dx_sentences"])
    assert not {h for hs in held_out["headings"].values() for h in hs} & {
        h for hs in training["add_headings"].values() for h in hs}


def test_coded_mentions_take_many_surface_forms_each_evidence_linked(extract):
    records, choices, _ = extract
    forms = defaultdict(set)
    labels = 0
    for record, choice in zip(records, choices):
        lines = record["op_note"].split("\n")
        for evidence, label in zip(record["icd10_evidence"], choice["diagnoses"]):
            assert evidence["text"] in lines[evidence["line"]] and evidence["text"] == label["written"]
            forms[label["phrase"]].add(label["written"].lower())
            labels += 1
    rewritten = sum(label["written"].lower() != label["phrase"].lower()
                    for choice in choices for label in choice["diagnoses"])
    assert rewritten > 0.4 * labels  # most mentions are not the policy's own wording
    frequent = [phrase for phrase, seen in forms.items() if len(seen) >= 3]
    assert len(frequent) >= 10, sorted(forms.items(), key=lambda kv: -len(kv[1]))[:5]


def test_notes_tell_diagnoses_in_sentences_name_procedures_in_the_technique_and_run_headings_together(extract):
    records, choices, _ = extract
    notes = [r["op_note"] for r in records]
    training = load_bank("training").spec
    told = [s.split("{dx}")[0] for s in training["dx_sentences"]]
    named = [s.split("{proc}")[0] for s in training["procedure_sentences"]]
    assert sum(any(t in n for t in told) for n in notes) > 0.05 * len(notes)
    assert sum(any(t in n for t in named) for n in notes) > 0.1 * len(notes)
    assert sum(bool(re.search(r"^[A-Z][\w ()-]*:\S", n, re.M)) for n in notes) > 0.1 * len(notes)  # "DX:cataract"
    sides = {w for ws in training["sides"].values() for w in ws} - {"right", "left", "bilateral"}
    assert sum(any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", n) for w in sides) for n in notes) > 0.05 * len(notes)


def test_shifted_notes_keep_the_encounter_and_its_gold_codes_in_new_words(extract):
    records, choices, shifted = extract
    assert [s["encounter_id"] for s in shifted] == [r["encounter_id"] for r in records]
    held_out = load_bank("held_out").spec
    roles = {role for forms in held_out["assistant_roles"].values() for role in forms}
    changed = total = 0
    for record, choice, other in zip(records, choices, shifted):
        assert other["op_note"] != record["op_note"]
        assert [e["code"] for e in other["icd10_evidence"]] == record["icd10"]
        lines = other["op_note"].split("\n")
        for evidence, normal in zip(other["icd10_evidence"], record["icd10_evidence"]):
            assert evidence["text"] in lines[evidence["line"]]
            changed += evidence["text"].lower() != normal["text"].lower()
            total += 1
        if choice["assistant"] and "assistant" not in choice["omitted"]:
            assert any(role in other["op_note"] for role in roles)
            assert not any(role in other["op_note"] for forms in ASSISTANT_ROLES.values() for role in forms)
    assert changed > 0.5 * total
    headings = {h for hs in held_out["headings"].values() for h in hs}
    assert all(any(h in s["op_note"] for h in headings) for s in shifted)


def test_shifted_notes_are_seeded_and_leave_the_extract_unchanged():
    settings = SyntheticSettings(n_encounters=40, seed=9)
    a, b = generate_extract_and_shift(settings), generate_extract_and_shift(settings)
    assert a == b
    other = generate_extract_and_shift(SyntheticSettings(n_encounters=40, seed=9, shifted_phrasing="plain"))
    assert other[:2] == a[:2] and other[2] != a[2]  # the shifted writer draws from its own Random


def test_shifted_test_set_is_a_seeded_sample_of_the_predicted_cases():
    test = pd.DataFrame({"encounter_id": [f"E{i}" for i in range(10)], "op_note": ["normal"] * 10,
                         "icd10": [["A00.0"]] * 10, "icd10_evidence": [None] * 10})
    shifted = pd.DataFrame({"encounter_id": [f"E{i}" for i in range(10)], "op_note": [f"shifted {i}" for i in range(10)],
                            "icd10_evidence": [[{"code": "A00.0", "line": 0, "text": "shifted"}]] * 10})
    out = shifted_test(test, shifted, n_test_cases=6, n_shifted_cases=3, seed=1)
    from claimbench.data.split import select_cases

    predicted = set(select_cases(test, 6, 1)["encounter_id"])
    assert len(out) == 3 and set(out["encounter_id"]) <= predicted
    assert all(note == f"shifted {eid[1:]}" for eid, note in zip(out["encounter_id"], out["op_note"]))
    assert out["icd10"].tolist() == [["A00.0"]] * 3  # gold codes are the case's own
    assert out.equals(shifted_test(test, shifted, 6, 3, 1))
    assert len(shifted_test(test, shifted, None, None, 1)) == 10
    with pytest.raises(ValueError, match="no style-shifted note for 1 encounter"):
        with_shifted_notes(test, shifted[shifted.encounter_id != "E4"])


def test_shifted_predictions_read_the_shifted_files_and_keep_model_and_decoding():
    inputs = {"test": "results/data/split/test.parquet", "model": "results/finetune/x/merged",
              "neighbours": "results/retrieval/neighbours.parquet", "hints": "results/retrieval/code_hints.parquet",
              "decoding": "results/predictions/decoding/x.json", "train": "results/data/split/train.parquet"}
    out = case_set_inputs(inputs, "shifted")
    assert out["test"] == "results/data/split/test_shifted.parquet"
    assert out["neighbours"] == "results/retrieval/neighbours_shifted.parquet"
    assert out["hints"] == "results/retrieval/code_hints_shifted.parquet"
    assert {k: out[k] for k in ("model", "decoding", "train")} == {k: inputs[k] for k in ("model", "decoding", "train")}
    assert set(case_set_files("shifted")) == {inputs["test"], inputs["neighbours"], inputs["hints"]}
