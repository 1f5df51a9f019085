"""Paper 002's JSON task: the claim schema, gold claims, the parser (never raises), the prompt built from the schema,
note-pair augmentation, schema-constrained decoding, and the paper's cited values."""

import json
from importlib.resources import files

import pandas as pd
import pytest
from pydantic import BaseModel

from claimbench.paper002 import augment, prompt, schema
from claimbench.paper002.schema import ERROR_KINDS, error_counts, gold_claim, parse, render

NOTE = ("OPERATIVE REPORT\n"
        "Preoperative diagnosis: symptomatic cholelithiasis.\n"
        "History: type 2 diabetes mellitus without complications.\n"
        "Procedure: laparoscopic cholecystectomy.\n")


def record(**over) -> dict:
    rec = {
        "encounter_id": "E1",
        "op_note": NOTE,
        "icd10": ["K80.20", "E11.9"],
        "icd10_evidence": [{"code": "K80.20", "line": 1, "text": "symptomatic cholelithiasis"},
                           {"code": "E11.9", "line": 2, "text": "type 2 diabetes mellitus"}],
        "cpt_lines": [
            {"provider": "Doe, Jane MD", "cpt": "47562", "modifiers": [], "description": "Gallbladder removal",
             "rationale": "A laparoscopic cholecystectomy was performed."},
            {"provider": "Doe, Jane MD", "cpt": "49320", "modifiers": ["51"], "description": "Diagnostic laparoscopy"},
            {"provider": "Roe, Sam MD", "cpt": "47562", "modifiers": ["80"], "description": "Gallbladder removal"},
            {"provider": "Roe, Sam MD", "cpt": "44970", "modifiers": ["80"], "description": ""},
        ],
    }
    rec.update(over)
    return rec


def records(n: int) -> list[dict]:
    """``n`` distinct records of different lengths (so shifts differ), each with evidence on its own lines."""
    out = []
    for i in range(n):
        filler = "".join(f"Step {k} of the procedure was uneventful.\n" for k in range(i % 4))
        note = (f"OPERATIVE NOTE {i}\n{filler}Diagnosis: condition number {i}.\nComorbidity: finding {i % 3}.\n"
                "Procedure: excision.\n")
        lines = note.split("\n")
        dx, co = lines.index(f"Diagnosis: condition number {i}."), lines.index(f"Comorbidity: finding {i % 3}.")
        codes = [f"A{i:02d}.1", f"Z{i % 3:02d}.0"]
        out.append({"encounter_id": f"E{i}", "op_note": note, "icd10": codes, "service": "General Surgery",
                    "icd10_evidence": [{"code": codes[0], "line": dx, "text": f"condition number {i}"},
                                       {"code": codes[1], "line": co, "text": f"finding {i % 3}"}],
                    "cpt_lines": [{"provider": "Doe, Jane MD", "cpt": f"1{i % 2}000", "modifiers": [],
                                   "description": "Excision"}]})
    return out


# ------------------------------------------------------------------------------------------------ schema, render


def test_json_schema_is_closed_and_requires_every_field():
    s = schema.json_schema()
    assert s["required"] == ["icd10", "cpt"] and s["additionalProperties"] is False
    defs = s["$defs"]
    assert defs["IcdEntry"]["required"] == ["code", "rationale", "evidence"]
    assert defs["Evidence"]["required"] == ["line", "text"]
    assert defs["Evidence"]["properties"]["line"] == {**defs["Evidence"]["properties"]["line"], "type": "integer",
                                                      "minimum": 0}
    assert defs["CptEntry"]["required"] == ["code", "rationale"]
    assert all(d["additionalProperties"] is False for d in defs.values())


def test_gold_claim_dedupes_cpt_in_first_seen_order_with_record_or_fallback_rationales():
    claim = gold_claim(record())
    assert [e["code"] for e in claim["icd10"]] == ["K80.20", "E11.9"]
    assert claim["icd10"][0]["evidence"] == {"line": 1, "text": "symptomatic cholelithiasis"}
    assert claim["icd10"][0]["rationale"] == ('The note documents "symptomatic cholelithiasis", which is coded as '
                                              "K80.20.")
    assert [e["code"] for e in claim["cpt"]] == ["47562", "49320", "44970"]  # 47562 once, across both providers
    assert [e["rationale"] for e in claim["cpt"]] == [
        "A laparoscopic cholecystectomy was performed.",  # the record's own rationale
        "The note documents this procedure: Diagnostic laparoscopy.",  # fallback from the description
        "The operative note documents the procedure billed as 44970.",  # fallback without a description
    ]
    # an ICD rationale in the evidence is used as written; a later provider's rationale counts when the first has none
    rec = record()
    rec["icd10_evidence"][1]["rationale"] = "Diabetes is listed in the history."
    rec["cpt_lines"][3]["rationale"] = "Appendix removed."
    claim = gold_claim(rec)
    assert claim["icd10"][1]["rationale"] == "Diabetes is listed in the history."
    assert claim["cpt"][2]["rationale"] == "Appendix removed."
    assert gold_claim(rec) == claim  # deterministic


@pytest.mark.parametrize("change, message", [
    (lambda r: r.pop("icd10_evidence"), "record E1: field icd10_evidence is missing"),
    (lambda r: r["icd10_evidence"].pop(), "field icd10_evidence has 1 items for 2 codes"),
    (lambda r: r["icd10_evidence"][1].update(code="E11.8"), r"icd10_evidence\[1\]: code 'E11.8' does not match"),
    (lambda r: r["icd10_evidence"][0].update(line=9), r"icd10_evidence\[0\]: field line 9 is not a line"),
    (lambda r: r["icd10_evidence"][0].update(line="1"), r"field line '1' is not a line"),
    (lambda r: r["icd10_evidence"][0].update(line=2), "field text 'symptomatic cholelithiasis' does not occur on note "
                                                      "line 2"),
])
def test_gold_claim_rejects_evidence_that_does_not_hold_naming_record_and_field(change, message):
    rec = record()
    change(rec)
    with pytest.raises(ValueError, match=message):
        gold_claim(rec)


def test_render_is_compact_deterministic_and_round_trips_through_parse():
    claim = gold_claim(record())
    text = render(claim)
    assert text == render(gold_claim(record()))
    assert text.startswith('{"icd10":[{"code":"K80.20","rationale":') and ", " not in text.split('"rationale"')[0]
    assert '"evidence":{"line":1,"text":"symptomatic cholelithiasis"}' in text
    assert json.loads(text) == claim
    parsed = parse(text)
    assert parsed.ok and parsed.error is None and parsed.claim == claim
    assert parsed.icd10_codes == ["K80.20", "E11.9"] and parsed.cpt_codes == ["47562", "49320", "44970"]
    with pytest.raises(ValueError):
        render({"icd10": [], "cpt": [{"code": "47562"}]})  # a training target must be a valid claim


# ------------------------------------------------------------------------------------------------------- parse

GOOD = render(gold_claim(record()))
ENTRY = '{"code":"K80.20","rationale":"r","evidence":{"line":1,"text":"t"}}'
CASES = [
    # (output, expected error kind or None)
    (GOOD, None),
    (f"  \n{GOOD}\n\n", None),
    (f"```json\n{GOOD}\n```", None),
    (f"```\n{GOOD}\n```", None),
    (f"Here is the claim:\n{GOOD}\nLet me know if you need more.", None),
    (f"<|placeholder2|>{GOOD}<|end|>", None),
    (f"Codes {{as requested}}: {GOOD}", None),  # a brace in prose is not the claim
    (f"{GOOD}{GOOD}", None),  # the first complete object
    ('{"icd10":[],"cpt":[]}', None),  # a valid empty claim
    ("", "empty"),
    ("   \n\t ", "empty"),
    (None, "empty"),
    ("```json\n```", "empty"),
    (GOOD[:-3], "invalid_json"),  # truncated (max_new_tokens)
    (GOOD[: GOOD.index("symptomatic") + 5], "invalid_json"),  # truncated inside a string after complete entries
    ('{"icd10":[' + ENTRY + ',{"code":"E1', "invalid_json"),  # a complete inner entry is not the claim
    ("ICD-10-CM Diagnoses:\n\nK80.20\n\nCPT Codes with Modifiers:", "invalid_json"),  # paper 000's layout
    ("{'icd10': [], 'cpt': []}", "invalid_json"),  # Python, not JSON
    ('{"icd10":[],"cpt":[],}', "invalid_json"),  # trailing comma
    ("[" * 50_000, "invalid_json"),
    ("{" * 50_000, "invalid_json"),
    ('{"a":' * 50_000, "invalid_json"),  # nested too deeply for the decoder
    (b"\xff\xfe not utf-8", "invalid_json"),
    ('[{"icd10":[],"cpt":[]}]', None),  # the object inside an array is still the first complete object
    ('{"icd10":[]}', "schema"),  # missing field
    ('{"cpt":[]}', "schema"),
    ('{"icd10":[{"code":"K80.20","rationale":"r"}],"cpt":[]}', "schema"),  # ICD entry without evidence
    ('{"icd10":[{"code":"K80.20","rationale":"r","evidence":{"line":"1","text":"t"}}],"cpt":[]}', "schema"),
    ('{"icd10":[{"code":"K80.20","rationale":"r","evidence":{"line":1.0,"text":"t"}}],"cpt":[]}', "schema"),
    ('{"icd10":[{"code":"K80.20","rationale":"r","evidence":{"line":true,"text":"t"}}],"cpt":[]}', "schema"),
    ('{"icd10":[{"code":"K80.20","rationale":"r","evidence":{"line":-1,"text":"t"}}],"cpt":[]}', "schema"),
    ('{"icd10":[],"cpt":[{"code":47562,"rationale":"r"}]}', "schema"),  # wrong type
    ('{"icd10":[],"cpt":[{"code":"","rationale":"r"}]}', "schema"),
    ('{"icd10":"K80.20","cpt":[]}', "schema"),
    ('{"icd10":[],"cpt":[],"modifiers":[]}', "schema"),  # unknown field
    ('{"icd10":[],"cpt":[{"code":"47562","rationale":"r","modifiers":["51"]}]}', "schema"),
]


@pytest.mark.parametrize("text, kind", CASES)
def test_parse_never_raises_and_names_the_error_kind(text, kind):
    parsed = parse(text)
    assert parsed.error == kind
    assert parsed.ok is (kind is None)
    if kind is not None:
        assert parsed.claim is None and parsed.message
        assert parsed.icd10_codes == [] and parsed.cpt_codes == []  # scored as an empty (wrong) prediction


def test_error_counts_count_every_kind():
    counts = error_counts(parse(text) for text, _ in CASES)
    # counted by hand from CASES above: 10 good, 4 empty, 10 invalid JSON, 12 schema violations
    assert counts == {"ok": 10, "empty": 4, "invalid_json": 10, "schema": 12}
    assert list(counts) == ["ok", *ERROR_KINDS]
    assert error_counts([]) == {"ok": 0, "empty": 0, "invalid_json": 0, "schema": 0}


def test_schema_errors_say_where():
    parsed = parse('{"icd10":[{"code":"K80.20","rationale":"r","evidence":{"line":"1","text":"t"}}],"cpt":[]}')
    assert parsed.message.startswith("icd10.0.evidence.line:")
    assert parsed.written["icd10"][0]["evidence"]["line"] == "1"  # what was written, kept for auditing
    assert parse('{"icd10":[{}],"cpt":[]}').message.startswith("icd10.0.code: Field required (+2 more)")


def test_codes_are_normalised_but_what_was_written_is_kept():
    text = ('{"icd10":[{"code":" k8020 ","rationale":"r","evidence":{"line":1,"text":"t"}},'
            '{"code":"e11.9","rationale":"r","evidence":{"line":2,"text":"u"}},'
            '{"code":"not a code","rationale":"r","evidence":{"line":2,"text":"u"}}],'
            '"cpt":[{"code":" 47562\\n","rationale":"r"}]}')
    parsed = parse(text)
    assert parsed.icd10_codes == ["K80.20", "E11.9", "NOT A CODE"]  # malformed stays malformed (scored wrong)
    assert parsed.cpt_codes == ["47562"]
    assert [e["code"] for e in parsed.written["icd10"]] == [" k8020 ", "e11.9", "not a code"]
    assert parsed.written["cpt"][0]["code"] == " 47562\n"


# ------------------------------------------------------------------------------------------------------ prompt


def _field_names(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, info in model.model_fields.items():
        names.add(name)
        for arg in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names |= _field_names(arg)
    return names


def test_prompt_names_every_schema_field_and_numbers_the_note_lines():
    msgs = prompt.messages(NOTE)
    assert [m["role"] for m in msgs] == ["system", "user"]
    system, user = msgs[0]["content"], msgs[1]["content"]
    names = _field_names(schema.JsonClaim)
    assert names == {"icd10", "cpt", "code", "rationale", "evidence", "line", "text"}
    for path in ["icd10", "icd10[].code", "icd10[].rationale", "icd10[].evidence.line", "icd10[].evidence.text",
                 "cpt", "cpt[].code", "cpt[].rationale"]:
        assert f"- {path} (" in system, path
    # the example shape is generated from the schema, and is itself a valid claim
    shape = system.rsplit("\n", 1)[-1]
    assert shape == ('{"icd10":[{"code":"...","rationale":"...","evidence":{"line":0,"text":"..."}}],'
                     '"cpt":[{"code":"...","rationale":"..."}]}')
    assert parse(shape).ok
    lines = NOTE.split("\n")
    for i, text in enumerate(lines):
        assert f"[{i}] {text}" in user.split("\n")
    assert "[1] Preoperative diagnosis: symptomatic cholelithiasis." in user
    assert prompt.numbered_note("a\nb") == "[0] a\n[1] b"


def test_training_messages_end_with_the_rendered_gold_claim():
    msgs = prompt.training_messages(record())
    assert msgs[:2] == prompt.messages(NOTE)
    assert msgs[2] == {"role": "assistant", "content": render(gold_claim(record()))}


# ------------------------------------------------------------------------------------------------ augmentation


def test_pair_notes_count_ids_and_no_self_pairs():
    recs = records(10)
    pairs = augment.pair_notes(recs, share=0.3, seed=1)
    assert len(pairs) == 3  # round(0.3 * 10)
    assert len(augment.pair_notes(records(7), 0.3, 1)) == 2  # round(2.1)
    assert augment.pair_notes(recs, share=0.0) == []
    for comp in pairs:
        a, b = comp["pair"]
        assert a != b and comp["encounter_id"] == f"{a}+{b}"
    # more pairs than half the notes: later rounds reuse notes, never within a pair
    many = augment.pair_notes(records(4), share=2.0, seed=0)
    assert len(many) == 8 and all(c["pair"][0] != c["pair"][1] for c in many)


def test_pair_notes_is_deterministic_for_a_seed():
    recs = records(10)
    assert augment.pair_notes(recs, 0.3, seed=4) == augment.pair_notes(recs, 0.3, seed=4)
    seeds = {tuple(c["encounter_id"] for c in augment.pair_notes(recs, 0.3, seed=s)) for s in range(5)}
    assert len(seeds) > 1


def test_pair_notes_shift_evidence_so_its_text_is_still_on_its_line():
    recs = records(12)
    by_id = {r["encounter_id"]: r for r in recs}
    for comp in augment.pair_notes(recs, share=0.5, seed=3):
        a, b = (by_id[i] for i in comp["pair"])
        lines = comp["op_note"].split("\n")
        offset = len(a["op_note"].split("\n")) + 1
        assert lines[offset - 1] == augment.pair_separator()
        assert lines[offset:] == b["op_note"].split("\n")
        assert comp["icd10"] == list(dict.fromkeys(a["icd10"] + b["icd10"]))
        for code, ev in zip(comp["icd10"], comp["icd10_evidence"]):
            assert ev["code"] == code and ev["text"] in lines[ev["line"]]
        for ev in comp["icd10_evidence"][len(a["icd10"]):]:  # B's codes not in A: shifted by A's lines + separator
            original = next(e for e in b["icd10_evidence"] if e["code"] == ev["code"])
            assert ev["line"] == original["line"] + offset
        assert gold_claim(comp)  # the composite is a valid training sample
        assert [line["cpt"] for line in comp["cpt_lines"]] == list(
            dict.fromkeys([line["cpt"] for line in a["cpt_lines"] + b["cpt_lines"]]))


def test_combine_merges_shared_codes_once_with_the_first_notes_evidence():
    a = record()
    b = record(encounter_id="E2", op_note="Dx: DM2.\nHistory: type 2 diabetes mellitus.\n", icd10=["E11.9"],
               icd10_evidence=[{"code": "E11.9", "line": 1, "text": "type 2 diabetes mellitus"}],
               cpt_lines=[{"provider": "X", "cpt": "47562"}])
    comp = augment.combine(a, b)
    assert comp["icd10"] == ["K80.20", "E11.9"]
    assert comp["icd10_evidence"][1] == {"code": "E11.9", "line": 2, "text": "type 2 diabetes mellitus"}  # A's
    assert [c["cpt"] for c in comp["cpt_lines"]] == ["47562", "49320", "47562", "44970"]  # B's 47562 not added
    comp = augment.combine(b, a)  # A's note has 3 lines (the last empty): its lines move down by 3 + 1
    assert comp["icd10_evidence"][1] == {"code": "K80.20", "line": 1 + 4, "text": "symptomatic cholelithiasis"}


def test_pair_notes_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least 2 training notes"):
        augment.pair_notes(records(1), share=1.0)
    with pytest.raises(ValueError, match="share must be >= 0"):
        augment.pair_notes(records(4), share=-0.1)


# ------------------------------------------------------------------------------------ schema-constrained decoding


def test_json_grammar_accepts_exactly_the_rendered_layout_and_constrains_a_tiny_model(tmp_path):
    torch = pytest.importorskip("torch")
    xgr = pytest.importorskip("xgrammar")
    from claimbench.models.claim_grammar import RowMatchers
    from claimbench.models.generation import stop_token_ids
    from claimbench.models.loading import load_for_inference
    from claimbench.models.tiny import build_tiny

    torch.set_num_threads(1)
    model, tok = load_for_inference(build_tiny("llama", tmp_path / "llama", seed=5))
    stops = stop_token_ids(model, tok)
    grammar = schema.json_grammar(tok, model.get_output_embeddings().weight.shape[0], stops)

    def accepts(text: str) -> bool:
        matcher = xgr.GrammarMatcher(grammar)
        return matcher.accept_string(text) and matcher.accept_token(tok.eos_token_id) and matcher.is_terminated()

    assert accepts(GOOD) and accepts('{"icd10":[],"cpt":[]}')
    assert not accepts(json.dumps(json.loads(GOOD), indent=1))  # whitespace: not the training layout
    assert not accepts('{"icd10":[],"cpt":[],"x":1}')
    assert not accepts(GOOD.replace('"line":1', '"line":"1"'))
    assert not accepts('{"cpt":[],"icd10":[]}')  # the schema's key order

    # A random tiny model writes only what the schema allows (cut off by max_new_tokens, so maybe unfinished)
    rows = RowMatchers([grammar])
    ids = tok(prompt.messages(NOTE)[1]["content"], return_tensors="pt")
    start = ids["input_ids"].shape[1]

    def constrain(input_ids, scores):
        if input_ids.shape[1] > start:
            rows.accept(0, input_ids[0, -1])
        return rows.mask(scores, [0])

    out = model.generate(**ids, max_new_tokens=40, do_sample=False, logits_processor=[constrain],
                         pad_token_id=tok.pad_token_id)
    text = tok.decode(out[0, start:], skip_special_tokens=True)
    assert text.startswith('{"icd10":[')
    assert xgr.GrammarMatcher(grammar).accept_string(text)
    assert parse(text).error in (None, "invalid_json")  # unfinished JSON is invalid, never a crash


# ------------------------------------------------------------------------------------------- paper's cited values


def _cited(name: str) -> pd.DataFrame:
    return pd.read_csv(files("claimbench.data") / name, comment="#")


def test_cited_levels_domains_and_expert_values():
    levels = _cited("paper002_levels.csv")
    f1 = {(r.system, r.level, r.model): r.f1 for r in levels.itertuples()}
    assert f1[("icd10", 0, "fine-tuned")] == 0.864 and f1[("icd10", 3, "fine-tuned")] == 0.704
    assert f1[("icd10", 4, "fine-tuned")] == 0.629 and f1[("icd10", 3, "zero-shot")] == 0.18
    assert levels.query("level in (1, 2)")["f1"].isna().all()  # only in Figure 2's image: left empty
    cpt = levels[levels.system == "cpt"].set_index("model")["f1"]
    assert cpt["fine-tuned"] == 0.736 and cpt["zero-shot"] == 0.193
    assert levels["source"].notna().all()

    domains = _cited("paper002_domains.csv").set_index("domain")
    assert list(domains.index) == ["Advanced Illness", "Frailty", "SDoH", "Combined", "Combined w/o SDoH"]
    assert domains.loc["Frailty", "f1"] == 0.8727 and domains.loc["SDoH", "recall_sd"] == 0.1578
    assert domains.loc["Combined", "n"] == 896 + 2128 + 1176
    assert domains.loc["Combined w/o SDoH", "n"] == 896 + 2128

    expert = _cited("paper002_expert.csv").set_index("level")
    assert sorted(expert.index) == [0, 1, 2, 3] and (expert["n_charts"] == 100).all()
    assert expert.loc[0, "recall"] == 0.9301 and expert.loc[3, "f1"] == 0.4416 and expert.loc[2, "f1_se"] == 0.0185
