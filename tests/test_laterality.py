"""Which side a note documents and each ICD-10-CM code's counterpart for another side (claimbench.laterality)."""

import pytest

from claimbench.laterality import SideSiblings, note_side, side_siblings, with_side_modifier


@pytest.mark.parametrize("note, side", [
    ("Procedure: left total knee arthroplasty. The left knee was prepped.", "L"),
    ("PROCEDURE PERFORMED: cataract extraction with lens placement, OS", "L"),
    ("Attention was turned to the operative eye (OD).", "R"),
    ("Procedure: right-sided carpal tunnel release", "R"),
    ("Bilateral myringotomy with tubes; the right ear first.", "B"),
    ("Surgery on both eyes (OU).", "B"),
    # "left" as a verb is not a side: the stent line would otherwise outvote the one right
    ("Right ureteroscopy. A stent was left in place. No drain was left.", "R"),
    ("Laparoscopic cholecystectomy.", None),
    ("Right knee today; the left knee was replaced last year.", None),  # as often right as left: not stated
])
def test_note_side(note, side):
    assert note_side(note) == side


SIBLINGS = SideSiblings({
    "H25.11": "Age-related nuclear cataract, right eye",
    "H25.12": "Age-related nuclear cataract, left eye",
    "H25.13": "Age-related nuclear cataract, bilateral",
    "M17.11": "Unilateral primary osteoarthritis, right knee",
    "M17.12": "Unilateral primary osteoarthritis, left knee",
    "I10": "Essential (primary) hypertension",
})


def test_siblings_swap_the_side_word_of_the_description():
    assert SIBLINGS.to_side("H25.11", "L") == "H25.12"
    assert SIBLINGS.to_side("H25.12", "B") == "H25.13"
    assert SIBLINGS.to_side("M17.12", "R") == "M17.11"
    assert SIBLINGS.to_side("M17.12", "B") == "M17.12"  # no "bilateral knee" description: kept
    assert SIBLINGS.to_side("I10", "L") == "I10"  # not lateral
    assert SIBLINGS.to_side("H25.11", None) == "H25.11"
    assert SIBLINGS.resolve(["H25.11", "I10", "H25.12"], "L") == ["H25.12", "I10"]


def test_siblings_from_the_shipped_code_set():
    fy2024 = side_siblings(2024)
    assert fy2024.to_side("M65.311", "L") == "M65.312"  # trigger thumb
    assert fy2024.to_side("H02.831", "L") == "H02.834"  # dermatochalasis, upper eyelid: not the digit after
    assert side_siblings(2024) is fy2024  # built once a fiscal year


def test_side_modifier_replaced_others_kept():
    assert with_side_modifier(("51", "RT"), "L") == ("51", "LT")
    assert with_side_modifier(("LT",), "B") == ("50",)
    assert with_side_modifier(("80",), "L") == ("80",)  # a line without a side modifier stays unsided
    assert with_side_modifier(("RT",), None) == ("RT",)
