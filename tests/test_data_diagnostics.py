"""Dataset diagnostics and the domain lookup, on records small enough to count by hand."""

from claimbench.data.diagnostics import dataset_diagnostics
from claimbench.data.domains import domain_of, load_domains


def record(codes, cpts, note):
    return {"icd10": codes, "cpt_lines": [{"cpt": c} for c in cpts], "op_note": note}


RECORDS = [
    record(["H25.11", "Z59.01", "R54"], ["66984", "66984"], "one two three\nfour"),  # 4 words, 18 chars, 2 lines
    record(["H25.11"], ["66984"], "a b"),                                            # 2 words, 3 chars, 1 line
    record(["I50.22", "Z60.2"], ["47562", "49585"], "x y z w v u\n\nend"),          # 7 words, 16 chars, 3 lines
    record(["K21.9"], ["47562"], "p q r s t u v w x y"),                             # 10 words, 19 chars, 1 line
]
CHOICES = [
    {"discarded": [{"reason": "no_evidence_in_note"}], "note_layout": {"style": "formal"}},
    {"discarded": [], "note_layout": {"style": "brief"}},
    {"discarded": [{"reason": "no_valid_code_in_fiscal_year"}, {"reason": "no_evidence_in_note"}],
     "note_layout": {"style": "formal"}},
    {"discarded": [], "note_layout": {"style": "narrative"}},
]


def test_diagnostics_known_answers():
    d = dataset_diagnostics(RECORDS, CHOICES)
    assert d["n_documents"] == 4
    # H25.11 in 2 documents; 66984 counted once in the document that bills it twice
    assert d["code_frequency"]["icd10"] == {"H25.11": 2, "Z59.01": 1, "R54": 1, "I50.22": 1, "Z60.2": 1, "K21.9": 1}
    assert d["code_frequency"]["cpt"] == {"66984": 2, "47562": 2, "49585": 1}
    assert (d["code_frequency"]["n_distinct_icd10"], d["code_frequency"]["n_distinct_cpt"]) == (6, 3)
    labels = d["labels_per_document"]  # 3, 1, 2, 1
    assert (labels["mean"], labels["min"], labels["median"], labels["max"]) == (1.75, 1, 1.5, 3)
    assert labels["histogram"] == {"1": 2, "2": 1, "3": 1}
    # 7 kept + 3 discarded = 10 intended
    assert d["discards"] == {"n_intended": 10, "n_kept": 7, "n_discarded": 3, "rate": 0.3,
                             "by_reason": {"no_evidence_in_note": 2, "no_valid_code_in_fiscal_year": 1},
                             "rate_by_reason": {"no_evidence_in_note": 0.2, "no_valid_code_in_fiscal_year": 0.1}}
    # SDoH: documents 1 (Z59.01) and 3 (Z60.2); Frailty: document 1 (R54); Advanced Illness: document 3 (I50.22)
    assert d["domain_shares"] == {"Advanced Illness": {"documents": 1, "share": 0.25},
                                  "Frailty": {"documents": 1, "share": 0.25},
                                  "SDoH": {"documents": 2, "share": 0.5}}
    words = d["note_length"]["words"]  # 4, 2, 7, 10: quartiles by linear interpolation
    assert (words["min"], words["p25"], words["median"], words["p75"], words["max"]) == (2, 3.5, 5.5, 7.75, 10)
    assert words["mean"] == 5.75
    assert (d["note_length"]["characters"]["max"], d["note_length"]["lines"]["median"]) == (19, 1.5)
    assert d["note_length"]["layouts"] == {"formal": 2, "brief": 1, "narrative": 1}


def test_domains_follow_the_file_order_and_ignore_the_dot():
    domains = load_domains()
    assert list(domains) == ["Advanced Illness", "Frailty", "SDoH"]
    assert domain_of("N18.6") == domain_of("N186") == "Advanced Illness"
    assert domain_of("N18.30") is None  # stage 3 CKD is not in a domain (N185, N186 are)
    assert domain_of("z91.81") == "Frailty" and domain_of("Z59.41") == "SDoH" and domain_of("H25.11") is None
    assert domain_of("R54", {"First": ("R5",), "Second": ("R54",)}) == "First"  # the first matching domain wins
