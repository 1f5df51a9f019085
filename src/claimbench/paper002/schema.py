"""The JSON claim of paper 002 (Methods 2.0.1): the one place its schema lives.

ICD-10-CM entries carry a code, a rationale and the evidence that supports them (a line of the note and the words on
it); CPT entries carry a code and a rationale::

    {"icd10": [{"code": "K80.20", "rationale": "...", "evidence": {"line": 3, "text": "..."}}],
     "cpt": [{"code": "47562", "rationale": "..."}]}

``line`` is a 0-based index into ``op_note.split("\\n")``. The pydantic models below drive the prompt text
(``claimbench.paper002.prompt``), the parser (``parse``), the training completion (``render``) and
schema-constrained decoding (``json_schema`` / ``json_grammar``).

Validation is strict (no coercion: a line written as ``"3"`` is a schema error) and closed (unknown fields are
errors), so what the parser accepts is exactly what a schema-constrained decoder can write.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from claimbench.evaluation.parse import _to_text, normalize_icd10

ERROR_KINDS = ("empty", "invalid_json", "schema")
_STRICT = ConfigDict(strict=True, extra="forbid")
SEPARATORS = (",", ":")  # compact JSON: the training completion and the constrained decoder write the same layout


class Evidence(BaseModel):
    model_config = _STRICT
    line: int = Field(ge=0, description="0-based number of the note line that supports the code (the number in "
                                        "brackets before the line)")
    text: str = Field(description="the supporting words, copied exactly from that line")


class IcdEntry(BaseModel):
    model_config = _STRICT
    code: str = Field(min_length=1, description="ICD-10-CM diagnosis code, with its dot")
    rationale: str = Field(description="why the note supports this code, in one sentence")
    evidence: Evidence = Field(description="where the note documents it")


class CptEntry(BaseModel):
    model_config = _STRICT
    code: str = Field(min_length=1, description="CPT procedure code (five characters)")
    rationale: str = Field(description="why the note supports this procedure code, in one sentence")


class JsonClaim(BaseModel):
    model_config = _STRICT
    icd10: list[IcdEntry] = Field(description="every ICD-10-CM diagnosis the note supports, each with its evidence")
    cpt: list[CptEntry] = Field(description="every CPT procedure performed, each code once")


def json_schema() -> dict:
    """The claim's JSON Schema (for schema-constrained decoding)."""
    return JsonClaim.model_json_schema()


def json_grammar(tokenizer, vocab_size: int | None = None, stop_token_ids: Iterable[int] | None = None):
    """The schema compiled by xgrammar for ``tokenizer``, writing the compact layout of ``render`` (no whitespace).

    ``vocab_size`` is the model's logits width (default: the tokenizer's length); ``stop_token_ids`` the model's stop
    tokens (default: the tokenizer's end-of-sequence token). Use with ``claimbench.models.claim_grammar.RowMatchers``.
    """
    import xgrammar as xgr

    from claimbench.models.claim_grammar import tokenizer_info

    stops = list(stop_token_ids) if stop_token_ids is not None else [tokenizer.eos_token_id]
    info = tokenizer_info(tokenizer, vocab_size or len(tokenizer), stops)
    return xgr.GrammarCompiler(info, cache_enabled=False).compile_json_schema(
        json.dumps(json_schema()), any_whitespace=False, separators=SEPARATORS)


def normalize_code(code: str, system: str) -> str:
    """Upper case and surrounding space removed; an ICD-10-CM code also gets its dot (``k8020`` -> ``K80.20``), as
    paper 000's parser reads codes. Nothing else: a malformed code stays malformed (and scores as wrong)."""
    if system == "icd10":
        return normalize_icd10(code) or code.strip().upper()
    return code.strip().upper()


def _normalized(claim: JsonClaim) -> dict:
    data = claim.model_dump()
    for system in ("icd10", "cpt"):
        for entry in data[system]:
            entry["code"] = normalize_code(entry["code"], system)
    return data


def render(claim: dict | JsonClaim) -> str:
    """The claim as compact JSON with the schema's key order: the training completion. Raises on an invalid claim."""
    model = claim if isinstance(claim, JsonClaim) else JsonClaim.model_validate(claim)
    return json.dumps(model.model_dump(), ensure_ascii=False, separators=SEPARATORS)


# ---------------------------------------------------------------------------------------------------------- gold


def _fallback_icd_rationale(code: str, text: str) -> str:
    return f'The note documents "{text.strip()}", which is coded as {code}.'


def _fallback_cpt_rationale(code: str, description: str) -> str:
    if description.strip():
        return f"The note documents this procedure: {description.strip().rstrip('.')}."
    return f"The operative note documents the procedure billed as {code}."


def gold_claim(record: dict) -> dict:
    """The gold JSON claim of a record: ``icd10`` with ``icd10_evidence`` (aligned: ``{code, line, text}``, optional
    ``rationale``), ``cpt_lines`` (``cpt``, optional ``rationale`` / ``description``).

    CPT codes are listed once, in first-seen order across providers; a rationale comes from the record when it has one,
    else a fixed sentence built from the evidence text or the line's description. Raises ``ValueError`` naming the
    record and field when an ICD-10-CM code has no evidence, or the evidence text is not on its line.
    """
    rid = record.get("encounter_id", "?")
    icd10 = list(record.get("icd10") or [])
    evidence = record.get("icd10_evidence")
    if icd10 and not isinstance(evidence, list):
        raise ValueError(f"record {rid}: field icd10_evidence is missing; the JSON claim needs evidence for every "
                         "ICD-10-CM code")
    evidence = evidence or []
    if len(evidence) != len(icd10):
        raise ValueError(f"record {rid}: field icd10_evidence has {len(evidence)} items for {len(icd10)} codes")
    lines = str(record.get("op_note") or "").split("\n")
    entries = []
    for k, (code, ev) in enumerate(zip(icd10, evidence)):
        where = f"record {rid}: icd10_evidence[{k}]"
        if not isinstance(ev, dict) or ev.get("code") != code:
            raise ValueError(f"{where}: code {ev.get('code') if isinstance(ev, dict) else ev!r} does not match "
                             f"icd10[{k}] = {code!r}")
        line, text = ev.get("line"), ev.get("text")
        if not isinstance(line, int) or isinstance(line, bool) or not 0 <= line < len(lines):
            raise ValueError(f"{where}: field line {line!r} is not a line of the note (0..{len(lines) - 1})")
        if not isinstance(text, str) or not text.strip() or text not in lines[line]:
            raise ValueError(f"{where}: field text {text!r} does not occur on note line {line}")
        entries.append({"code": normalize_code(code, "icd10"),
                        "rationale": ev.get("rationale") or _fallback_icd_rationale(code, text),
                        "evidence": {"line": line, "text": text}})
    by_code: dict[str, list[dict]] = {}  # first-seen order across providers
    for item in record.get("cpt_lines") or []:
        by_code.setdefault(normalize_code(str(item["cpt"]), "cpt"), []).append(item)
    cpt = []
    for code, items in by_code.items():
        own = next((str(i["rationale"]) for i in items if i.get("rationale")), "")
        description = next((str(i["description"]) for i in items if i.get("description")), "")
        cpt.append({"code": code, "rationale": own or _fallback_cpt_rationale(code, description)})
    claim = {"icd10": entries, "cpt": cpt}
    return JsonClaim.model_validate(claim).model_dump()


# --------------------------------------------------------------------------------------------------------- parse


@dataclass(frozen=True)
class ParsedClaim:
    """What ``parse`` read. ``claim`` holds normalised codes, or None when the output is wrong by format: then
    ``error`` is one of ``ERROR_KINDS`` and ``message`` says why. ``written`` is the JSON object as the model wrote it
    (codes not normalised), whenever one was found, for auditing."""

    claim: dict | None
    error: str | None = None
    message: str = ""
    written: dict | None = None

    @property
    def ok(self) -> bool:
        return self.claim is not None

    @property
    def icd10_codes(self) -> list[str]:
        return [e["code"] for e in self.claim["icd10"]] if self.claim else []

    @property
    def cpt_codes(self) -> list[str]:
        return [e["code"] for e in self.claim["cpt"]] if self.claim else []


_FENCE = re.compile(r"^```[ \t]*(?:json)?[ \t]*\n?(?P<body>.*?)(?:\n?```[ \t]*)?$", re.DOTALL | re.IGNORECASE)
_MAX_STARTS = 200  # candidate "{" positions tried: bounds the work on hostile text


def _first_object(text: str) -> tuple[dict | None, str]:
    """The first complete JSON object in ``text`` and an error message when there is none.

    Candidates are the "{" positions in order. A "{" inside the part of an earlier candidate that did decode (up to
    its error) is not a new object: so a truncated claim is invalid JSON, not its last complete inner entry; a brace
    in prose before the claim ("{note}") fails at once and is skipped."""
    decoder = json.JSONDecoder()
    start, reached, tries, error = text.find("{"), -1, 0, "no JSON object in the output"
    while start != -1 and tries < _MAX_STARTS:
        if start >= reached:
            tries += 1
            try:
                obj, _ = decoder.raw_decode(text, start)
                return obj, ""
            except json.JSONDecodeError as exc:
                # an unterminated string reports where it starts, but everything after that is inside it
                reached = len(text) if exc.msg.startswith("Unterminated string") else exc.pos
                error = f"{exc.msg} (character {exc.pos})"
            except RecursionError:
                return None, "JSON nested too deeply"
        start = text.find("{", start + 1)
    return None, error


def _schema_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "claim"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse(text: object) -> ParsedClaim:
    """Read a generated claim. Never raises: any input gives a ``ParsedClaim``.

    Surrounding whitespace and a Markdown fence (```json ... ```) are removed, the first complete JSON object is
    taken (prose or chat tokens around it are ignored) and validated against the schema.
    """
    try:
        body = _to_text(text).strip()
        fenced = _FENCE.match(body)
        if fenced:
            body = fenced.group("body").strip()
        if not body:
            return ParsedClaim(None, "empty", "no output")
        obj, error = _first_object(body)
        if obj is None:
            return ParsedClaim(None, "invalid_json", error)
        try:
            claim = JsonClaim.model_validate(obj)
        except ValidationError as exc:
            return ParsedClaim(None, "schema", _schema_message(exc), written=obj)
        return ParsedClaim(_normalized(claim), written=obj)
    except Exception as exc:  # noqa: BLE001 -- the contract: malformed output is wrong, never a crash
        return ParsedClaim(None, "invalid_json", f"unreadable output ({type(exc).__name__})")


def error_counts(parsed: Iterable[ParsedClaim]) -> dict[str, int]:
    """How many outputs parsed (``ok``) and how many failed by each error kind (every kind listed, zeros included)."""
    counts = Counter("ok" if p.ok else p.error for p in parsed)
    return {"ok": counts["ok"], **{kind: counts[kind] for kind in ERROR_KINDS}}
