"""The description task (prompt kind ``describe``, e.g. configuration ft-mini+describe): the model writes what was
diagnosed and done in words, and each description is resolved to a valid code (claimbench.grounding.resolve).

Answer layout (the training target; prompts.yaml ``describe`` holds the instruction)::

    Diagnoses:
    - <a diagnosis, as an ICD-10-CM description names it>
    Procedures:
    Provider Name: <provider>
    - <a billed procedure, as a CPT catalog description names it> | Modifiers: RT, 80

Training targets are the code sets' own descriptions of the gold codes (ICD-10-CM of the encounter's fiscal year, the
CPT catalog), so a small model learns words it can write, one line per code, the CPT lines per provider and with their
modifiers as the paper's claim layout has them. ``ground_answer`` turns an answer into a ``Claim`` in the paper's
layout (claimbench.claim.render_claim), so the evaluation scores it unchanged; an answer without readable lines is an
empty claim (scored wrong), never an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from claimbench.claim import Claim, CptLine
from claimbench.plan.grounding import DESCRIBE_KIND

DIAGNOSES, PROCEDURES, PROVIDER = "Diagnoses:", "Procedures:", "Provider Name:"
_ITEM = re.compile(r"^[ \t]*(?:[-*•][ \t]*|\d{1,3}[.)][ \t]+)?(?P<text>.*?)[ \t]*$")
_MODIFIERS = re.compile(r"\|[ \t]*Modifiers?:[ \t]*(?P<mods>[^|]*)", re.IGNORECASE)


@dataclass(frozen=True)
class ProcedureLine:
    provider: str
    description: str
    modifiers: tuple[str, ...] = ()


@dataclass
class DescribedClaim:
    """An answer read back: diagnosis descriptions and procedure lines, in order."""

    diagnoses: list[str] = field(default_factory=list)
    procedures: list[ProcedureLine] = field(default_factory=list)


def render_descriptions(diagnoses: list[str], procedures: list[ProcedureLine]) -> str:
    """The answer layout above (procedures grouped per provider in order of first appearance)."""
    parts = [DIAGNOSES, *(f"- {text}" for text in diagnoses), PROCEDURES]
    for provider in dict.fromkeys(p.provider for p in procedures):
        parts.append(f"{PROVIDER} {provider}")
        parts += [f"- {p.description} | Modifiers: {', '.join(p.modifiers)}" for p in procedures
                  if p.provider == provider]
    return "\n".join(parts)


def gold_descriptions(record: Mapping, icd10_text: Callable[[str, int], str | None],
                      cpt_text: Callable[[str, int], str | None]) -> str:
    """A training record's target: its gold codes' own descriptions (``icd10_text(code, fiscal_year)``,
    ``cpt_text(code, year)``; a code without one keeps the claim's line description, or the code itself)."""
    claim = Claim.from_record(record)
    date = str(record["surgery_date"])[:10]
    fy = int(record["fiscal_year"]) if record.get("fiscal_year") is not None else None
    if fy is None:
        from claimbench.codesets import fiscal_year

        fy = fiscal_year(date)
    diagnoses = [icd10_text(code, fy) or code for code in claim.icd10]
    procedures = [ProcedureLine(line.provider, cpt_text(line.cpt, int(date[:4])) or line.description or line.cpt,
                                tuple(line.modifiers)) for line in claim.cpt_lines]
    return render_descriptions(diagnoses, procedures)


def parse_descriptions(text) -> DescribedClaim:
    """Read an answer; never raises (anything unreadable is left out)."""
    from claimbench.evaluation.parse import SPECIAL_TOKEN
    from claimbench.codesets import MODIFIER_FORMAT

    out, section, provider = DescribedClaim(), None, ""
    for raw in SPECIAL_TOKEN.sub("", str(text or "")).splitlines():
        line = raw.strip()
        if not line:
            continue
        lower = line.lower()
        if lower.startswith(DIAGNOSES.lower()):
            section = "dx"
            continue
        if lower.startswith(PROCEDURES.lower()):
            section = "px"
            continue
        if lower.startswith(PROVIDER.lower()):
            section, provider = "px", line[len(PROVIDER):].strip()
            continue
        item = _ITEM.match(line)["text"]
        if section == "dx" and item:
            out.diagnoses.append(item)
        elif section == "px":
            found = _MODIFIERS.search(item)
            mods = tuple(m.strip().upper() for m in found["mods"].split(",")) if found else ()
            description = (item[: found.start()] if found else item).strip(" |")
            if description:
                out.procedures.append(ProcedureLine(provider, description,
                                                    tuple(m for m in mods if MODIFIER_FORMAT.match(m))))
    return out


def ground_answer(text, fiscal_year: int, year: int, rank: Callable, choose: Callable | None = None,
                  k: int = 5) -> tuple[Claim, list[dict]]:
    """The answer's claim: each description resolved to a code valid for the encounter (``rank(system, queries,
    year, k)`` -> candidates per query, claimbench.grounding.resolve.Resolver.rank), the nearest unless ``choose(
    system, description, candidates)`` picks another; repeats dropped. Returns the claim and a record of each
    resolution (description, candidates with scores, chosen code)."""
    described = parse_descriptions(text)
    choose = choose or (lambda system, description, candidates: candidates[0])
    trail: list[dict] = []

    def resolve(system: str, descriptions: list[str], when: int) -> list:
        chosen = []
        for description, candidates in zip(descriptions, rank(system, [[d] for d in descriptions], when, k)):
            pick = choose(system, description, candidates) if candidates else None
            trail.append({"system": system, "description": description, "chosen": pick.code if pick else None,
                          "candidates": [[c.code, round(c.score, 4)] for c in candidates]})
            chosen.append(pick)
        return chosen

    icd = resolve("icd10cm", described.diagnoses, fiscal_year)
    cpt = resolve("cpt", [p.description for p in described.procedures], year)
    icd10 = tuple(dict.fromkeys(c.code for c in icd if c is not None))
    lines, seen = [], set()
    for procedure, pick in zip(described.procedures, cpt):
        if pick is None or (procedure.provider, pick.code) in seen:
            continue
        seen.add((procedure.provider, pick.code))
        lines.append(CptLine(procedure.provider, pick.code, procedure.modifiers, pick.description))
    return Claim(icd10=icd10, cpt_lines=tuple(lines)), trail


def messages(op_note: str) -> list[dict]:
    from claimbench.prompts import templates

    t = templates()["describe"]
    return [{"role": "system", "content": t["system"]}, {"role": "user", "content": t["user"].format(op_note=op_note)}]


def build_prompt(op_note: str, tokenizer) -> str:
    """The prompt of one note (through the model's chat template, with the generation prompt)."""
    from claimbench.prompts import _chat

    return _chat(tokenizer, messages(op_note), add_generation_prompt=True)


def training_pair(record: Mapping, op_note: str, tokenizer, codesets: Mapping | None = None) -> tuple[str, str]:
    """(prompt, completion) of one training note: ``op_note`` (possibly cut to fit) in the prompt, the gold codes'
    own descriptions in the code sets of config ``codesets`` as the completion."""
    from claimbench.prompts import chat_pair

    return chat_pair(tokenizer, messages(op_note), gold_descriptions(record, *code_describers(codesets)))


def code_describers(codesets: Mapping | None = None) -> tuple[Callable, Callable]:
    """(ICD-10-CM code, fiscal year) -> description and (CPT code, year) -> description, from config ``codesets``
    (icd10cm_files, cpt_catalog; the shipped sets where unset)."""
    from claimbench.codesets import cpt_catalog, icd10cm_descriptions

    codesets = dict(codesets or {})
    catalog = cpt_catalog(codesets.get("cpt_catalog"))
    cpt = dict(zip(catalog["cpt"].astype(str), catalog["description"].astype(str)))
    cms_files = codesets.get("icd10cm_files")
    return (lambda code, fy: icd10cm_descriptions(fy, cms_files).get(code)), (lambda code, year: cpt.get(code))


@dataclass(frozen=True)
class DescribeTask:
    """The description task as fine-tuning and generation take it (claimbench.task): the model writes each diagnosis
    and procedure line in words; rule predict then resolves the words to codes (claimbench.grounding.predict)."""

    codesets: Mapping | None = None  # config ``codesets``: whose descriptions the training targets are
    kind: str = DESCRIBE_KIND

    @property
    def shows_examples(self) -> bool:
        return False

    def prompt(self, op_note: str, examples, family: str, tokenizer) -> str:
        return build_prompt(op_note, tokenizer)

    def training_pair(self, record: Mapping, op_note: str, family: str, tokenizer, examples) -> tuple[str, str]:
        return training_pair(record, op_note, tokenizer, self.codesets)

    def parse(self, text: object):
        """An answer once resolved to codes is a claim in the paper's layout (descriptions alone parse empty)."""
        from claimbench.evaluation.parse import parse_claim

        return parse_claim(text)


def describe_task(settings: Mapping) -> DescribeTask:
    """The task of a describe job or configuration (named by claimbench.plan.grounding.DESCRIBE_TASK), with its
    settings' ``codesets``."""
    return DescribeTask(settings.get("codesets"))
